#!/usr/bin/env bats
# roughtime-serve on loopback, checked by a Python client that verifies every answer fully
# (signatures under the key --keygen printed, Merkle path, MINT <= MIDP <= MAXT).
load common
load 500-roughtime-serve-lib
bats_require_minimum_version 1.5.0

setup() {
  PORT=$(free_port)
  KEY=$BATS_TEST_TMPDIR/key
  rt_keygen "$KEY"
}

# counters: the line SIGUSR1 makes the server write to its log.
counters() {
  local before
  before=$(grep -c 'counters:' "$BATS_TEST_TMPDIR/err" || true)
  kill -USR1 "$SERVE_PID"
  for _ in $(seq 30); do
    [ "$(grep -c 'counters:' "$BATS_TEST_TMPDIR/err" || true)" -gt "$before" ] && break
    sleep 0.1
  done
  grep 'counters:' "$BATS_TEST_TMPDIR/err" | tail -1
}

@test "a UDP request gets an answer that verifies under the printed key, RADI 3 s, no larger than the request" {
  rt_start
  run rt_query "$PORT" "$PUBKEY"
  [[ "$output" == "{"* ]] || { echo "$output"; return 1; }
  [ "$(json_field "$output" radi)" -eq 3000000000 ]
  [ "$(json_field "$output" resp)" -le "$(json_field "$output" req)" ]
  local midp now
  midp=$(json_field "$output" midp)
  now=$(date +%s%N)
  [ $(( (now - midp) / 1000000000 )) -ge -2 ] && [ $(( (now - midp) / 1000000000 )) -le 2 ]
  # Another key does not verify it: the client really checks.
  run rt_query "$PORT" "$(roughtime-serve --keygen "$BATS_TEST_TMPDIR/other" | sed -n 's/^public key (base64): //p')" \
    --srv-key "$PUBKEY"
  [ "$output" = "invalid: DELE signature" ]
}

@test "requests under 1024 octets and SRV naming another key get nothing, and are counted" {
  rt_start
  run rt_query "$PORT" "$PUBKEY" --size 1000 --timeout 0.5
  [ "$output" = "no answer" ]
  local other
  other=$(roughtime-serve --keygen "$BATS_TEST_TMPDIR/other" | sed -n 's/^public key (base64): //p')
  run rt_query "$PORT" "$PUBKEY" --srv-key "$other" --timeout 0.5
  [ "$output" = "no answer" ]
  run counters
  [[ "$output" == *" dropped_short=1 "* ]] || { echo "$output"; return 1; }
  [[ "$output" == *" dropped_srv=1 "* ]] || { echo "$output"; return 1; }
  [[ "$output" == *" answered=0 "* ]]
}

@test "a burst of junk, short, oversized and truncated packets: no crash, no amplification, still serving" {
  rt_start
  /usr/bin/python3 - "$PORT" > "$BATS_TEST_TMPDIR/burst" <<'PY'
import os, random, socket, struct, sys, time
port = int(sys.argv[1]); rng = random.Random(1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
sent = {}
def send(p):
    s.sendto(p, ("127.0.0.1", port))
frame = lambda m: b"ROUGHTIM" + struct.pack("<I", len(m)) + m
for i in range(300):
    kind = i % 6
    if kind == 0: p = os.urandom(rng.randrange(0, 1500))                     # junk
    elif kind == 1: p = os.urandom(rng.randrange(1024, 1500))                # long junk
    elif kind == 2: p = frame(os.urandom(rng.randrange(1012, 1400)))         # framed junk
    elif kind == 3: p = frame(struct.pack("<I", 0xffffffff) + bytes(1020))   # absurd tag count
    elif kind == 4: p = b"ROUGHTIM" + struct.pack("<I", 5000) + bytes(1100)  # frame longer than packet
    else: p = bytes(rng.randrange(2049, 9000))                               # over our read size
    send(p)
    time.sleep(0.002)  # paced: the default receive buffer must not overflow, so the counts are exact
biggest = 0
try:
    while True:
        biggest = max(biggest, len(s.recv(65536)))
except socket.timeout:
    pass
print(biggest)
PY
  [ "$(cat "$BATS_TEST_TMPDIR/burst")" -eq 0 ]   # not one of them answered
  kill -0 "$SERVE_PID"
  run rt_query "$PORT" "$PUBKEY" --count 3
  [ "${#lines[@]}" -eq 3 ]
  for l in "${lines[@]}"; do [[ "$l" == "{"* ]] || { echo "$l"; return 1; }; done
  run counters
  [[ "$output" == *"received=303 answered=3 "* ]] || { echo "$output"; return 1; }
  [[ "$output" == *" dropped_oversized=50 "* ]] || { echo "$output"; return 1; }
}

@test "an answer is never larger than its request: a bare minimum request is answered only if it fits" {
  rt_start --batch-delay 100ms
  # 64 requests in one batch: PATH of 6 hashes, 1036-octet requests still hold their answers.
  run rt_query "$PORT" "$PUBKEY" --count 64
  [ "${#lines[@]}" -eq 64 ]
  local l
  for l in "${lines[@]}"; do
    [[ "$l" == "{"* ]] || { echo "$l"; return 1; }
    [ "$(json_field "$l" resp)" -le "$(json_field "$l" req)" ]
  done
}

@test "requests arriving together are signed as one batch: one ROOT, one INDX each" {
  rt_start --batch-delay 200ms
  run rt_query "$PORT" "$PUBKEY" --count 5
  [ "${#lines[@]}" -eq 5 ]
  local roots indexes
  roots=$(for l in "${lines[@]}"; do json_field "$l" root; done | sort -u | wc -l)
  [ "$roots" -eq 1 ]
  indexes=$(for l in "${lines[@]}"; do json_field "$l" indx; done | sort -n | tr '\n' ' ')
  [ "$indexes" = "0 1 2 3 4 " ]
  [ "$(json_field "${lines[0]}" depth)" -eq 3 ]
  run counters
  [[ "$output" == *" batches=1 "* ]] || { echo "$output"; return 1; }
  # --batch-size 2 cuts the same five into three batches.
  kill "$SERVE_PID"; wait "$SERVE_PID" || true
  rt_start --batch-delay 200ms --batch-size 2
  run rt_query "$PORT" "$PUBKEY" --count 5
  roots=$(for l in "${lines[@]}"; do json_field "$l" root; done | sort -u | wc -l)
  [ "$roots" -eq 3 ]
}

@test "TCP: pipelined requests on one connection are all answered; an unframed stream is closed" {
  rt_start
  run rt_query "$PORT" "$PUBKEY" --tcp --count 4
  [ "${#lines[@]}" -eq 4 ]
  for l in "${lines[@]}"; do [[ "$l" == "{"* ]] || { echo "$l"; return 1; }; done
  run /usr/bin/python3 -c "
import socket
s = socket.create_connection(('127.0.0.1', $PORT), timeout=2)
s.sendall(b'GET / HTTP/1.0\r\n\r\n')
print('closed' if s.recv(100) == b'' else 'open')"
  [ "$output" = closed ]
  run counters
  [[ "$output" == *" tcp_connections=2 "* ]] || { echo "$output"; return 1; }
}

@test "TCP: a valid request followed by garbage in one write is answered, then the stream ends in order" {
  rt_start -v
  run rt_query "$PORT" "$PUBKEY" --tcp --count 2 --trailer 'GET / HTTP/1.0' --eof --timeout 5
  echo "$output"
  [ "${#lines[@]}" -eq 3 ]
  [[ "${lines[0]}" == "{"* ]] && [[ "${lines[1]}" == "{"* ]]
  [ "${lines[2]}" = eof ]
  grep -q "127.0.0.1:[0-9]*: TCP connection ended: no ROUGHTIM frame" "$BATS_TEST_TMPDIR/err"
  run counters
  [[ "$output" == *" answered=2 "* ]] || { echo "$output"; return 1; }
}

@test "TCP: a short or malformed frame ends the connection at once, after the valid ones before it" {
  rt_start -v
  # A frame the responder drops (a 1000-octet message): no answer, and no waiting either: the
  # server ends the stream (the client's 5 s timeout would print "open").
  run rt_query "$PORT" "$PUBKEY" --tcp --size 1000 --eof --timeout 5
  echo "$output"
  [ "$output" = "no answer
eof" ]
  grep -q "TCP connection ended: request too short" "$BATS_TEST_TMPDIR/err" || { cat "$BATS_TEST_TMPDIR/err"; return 1; }
  # A good request, then a well-framed message that is not a request: the first is answered.
  run rt_query "$PORT" "$PUBKEY" --tcp --eof --timeout 5 --trailer 'ROUGHTIM\x08\x00\x00\x00junkjunk'
  echo "$output"
  [[ "${lines[0]}" == "{"* ]]
  [ "${lines[1]}" = eof ]
  # Too long a frame: ended too.
  run rt_query "$PORT" "$PUBKEY" --tcp --eof --timeout 5 --trailer 'ROUGHTIM\xff\xff\x00\x00'
  [[ "${lines[0]}" == "{"* ]]
  [ "${lines[1]}" = eof ]
  run counters
  [[ "$output" == *" answered=2 "* ]] || { echo "$output"; return 1; }
  [[ "$output" == *" dropped_short=2 "* ]] || { echo "$output"; return 1; }   # both short frames
  [[ "$output" == *" dropped_oversized=1 "* ]] || { echo "$output"; return 1; }
}

@test "--tcp off: UDP only" {
  rt_start --tcp off
  run rt_query "$PORT" "$PUBKEY"
  [[ "$output" == "{"* ]]
  run rt_query "$PORT" "$PUBKEY" --tcp --timeout 0.5
  [ "$output" = "no answer" ]
}

@test "IPv6: UDP and TCP on ::1" {
  roughtime-serve --key "$KEY" --listen "[::1]:$PORT" 2> "$BATS_TEST_TMPDIR/err" &
  SERVE_PID=$!
  track_pid $SERVE_PID
  wait_udp_bound "$PORT"
  run rt_query "$PORT" "$PUBKEY" --host ::1
  [[ "$output" == "{"* ]] || { echo "$output"; return 1; }
  run rt_query "$PORT" "$PUBKEY" --host ::1 --tcp
  [[ "$output" == "{"* ]] || { echo "$output"; return 1; }
}

@test "Google-Roughtime: answered and verified by default, silence with --google off" {
  rt_start
  run rt_query "$PORT" "$PUBKEY" --google
  [[ "$output" == "{"* ]] || { echo "$output"; return 1; }
  [ "$(json_field "$output" resp)" -le "$(json_field "$output" req)" ]
  kill "$SERVE_PID"; wait "$SERVE_PID" || true
  rt_start --google off
  run rt_query "$PORT" "$PUBKEY" --google --timeout 0.5
  [ "$output" = "no answer" ]
  run rt_query "$PORT" "$PUBKEY"
  [[ "$output" == "{"* ]]
  run counters
  [[ "$output" == *" dropped_version=1 "* ]] || { echo "$output"; return 1; }
}

@test "--offset -86400 serves yesterday, validly signed (for testing malfeasance detection)" {
  rt_start --offset -86400
  run rt_query "$PORT" "$PUBKEY"
  [[ "$output" == "{"* ]] || { echo "$output"; return 1; }
  local off
  off=$(( ($(json_field "$output" midp) - $(date +%s%N)) / 1000000000 ))
  [ "$off" -ge -86402 ] && [ "$off" -le -86398 ]
  grep -q -- "--offset: serving a time -86400.000 s off, for testing clients only" "$BATS_TEST_TMPDIR/err"
}

@test "--radius sets RADI (rounded up to whole seconds in IETF versions)" {
  rt_start --radius 1500ms
  run rt_query "$PORT" "$PUBKEY"
  [ "$(json_field "$output" radi)" -eq 2000000000 ]
  run rt_query "$PORT" "$PUBKEY" --google
  [ "$(json_field "$output" radi)" -eq 1500000000 ]
}

@test "the online key is replaced before it expires: answers across rotations all verify" {
  rt_start --online-validity 1s -v
  local i keys=() l
  for i in $(seq 10); do
    l=$(rt_query "$PORT" "$PUBKEY" --count 2 | head -1)
    [[ "$l" == "{"* ]] || { echo "query $i: $l"; return 1; }
    keys+=("$(json_field "$l" pubk)")
    sleep 0.25
  done
  # Over 2.5 s or more of 1 s keys replaced every 0.75 s: at least three online keys answered.
  [ "$(printf '%s\n' "${keys[@]}" | sort -u | wc -l)" -ge 3 ]
  run counters
  [[ "$output" == *" answered=20 "* ]] || { echo "$output"; return 1; }
}

@test "SIGTERM: exit 0 with the counters; SIGUSR1 prints them and keeps serving" {
  rt_start
  rt_query "$PORT" "$PUBKEY" >/dev/null
  run counters
  [[ "$output" == "roughtime-serve: counters: received=1 answered=1 "* ]] || { echo "$output"; return 1; }
  kill -0 "$SERVE_PID"
  kill -TERM "$SERVE_PID"
  local rc=0
  wait "$SERVE_PID" || rc=$?
  [ "$rc" -eq 0 ]
  grep -q '^roughtime-serve: exiting: received=1 answered=1 ' "$BATS_TEST_TMPDIR/err"
}
