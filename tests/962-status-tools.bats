#!/usr/bin/env bats
# --status-socket in the long-running tools besides ntp-query, ntp-serve and discipline (960):
# roughtime-serve, nts-ke --serve, gps-reader, pps-capture, shm-export, shm-import, clockadj.
# Each answers a client that connects with a status snapshot (a `status` record naming the tool
# and its pid, then the newest record of each type and source) and EOF; the bytes are fetched by
# Debian's Python (AF_UNIX) and decoded by timecat, and the counters and records are checked
# against what the tool was made to do and against what it wrote on its standard output.
bats_require_minimum_version 1.5.0
load common
load 960-status-lib
load 500-roughtime-serve-lib
load 750-nts-lib
load 820-shm-lib
load 840-pps-lib
load 701-clockadj-lib

setup() {
  require_cmd timecat
  SOCK=$BATS_TEST_TMPDIR/status.sock
}

teardown() {
  exec 5>&- 2>/dev/null || true
  kill_tracked
}

# counters FILE SOURCE: the counters of SOURCE's stats record in the snapshot FILE, "name=value" a line.
counters() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == "stats" and r["source"] == sys.argv[2]:
        for k, v in sorted(r["counters"].items()):
            print("%s=%d" % (k, v))
PY
}

# wait_counter SOCKET SOURCE NAME VALUE: snapshots until SOURCE's counter NAME is VALUE (10 s);
# the last snapshot stays in $BATS_TEST_TMPDIR/snap.json.
wait_counter() {
  local i
  for i in $(seq 50); do
    snapshot "$1" "$BATS_TEST_TMPDIR/snap.json"
    counters "$BATS_TEST_TMPDIR/snap.json" "$2" | grep -qx "$3=$4" && return 0
    sleep 0.2
  done
  echo "$2: $3 never became $4:" >&2
  cat "$BATS_TEST_TMPDIR/snap.json" >&2
  return 1
}

# newest TYPE SOURCE FILE: the record of TYPE and SOURCE, as sorted JSON (for comparing).
newest() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
found = None
for l in open(sys.argv[3]):
    r = json.loads(l)
    if r["type"] == sys.argv[1] and r["source"] == sys.argv[2]:
        found = r
print(json.dumps(found, sort_keys=True))
PY
}

@test "roughtime-serve --status-socket: requests, answers per version, batches and signatures; mode 0666; removed at exit" {
  require_cmd roughtime-query
  PORT=$(free_port)
  KEY=$BATS_TEST_TMPDIR/key
  rt_keygen "$KEY"
  rt_start --status-socket "$SOCK" --batch-delay 0
  roughtime-query -o json "127.0.0.1:$PORT" "$PUBKEY" > "$BATS_TEST_TMPDIR/q.json"   # RFC 10049
  wait_counter "$SOCK" roughtime-serve answered 1
  check_snapshot "$BATS_TEST_TMPDIR/snap.json" roughtime-serve "$SERVE_PID"
  [ "$(stat -c %a "$SOCK")" = 666 ]
  run counters "$BATS_TEST_TMPDIR/snap.json" roughtime-serve
  echo "$output"
  for c in received=1 answered_rfc=1 answered_google=0 batches=1 signatures=1 online_keys=1 dropped_short=0; do
    grep -qx "$c" <<< "$output"
  done
  # a Google-Roughtime request, and a short one that is dropped
  [[ "$(rt_query "$PORT" "$PUBKEY" --google)" == '{"midp"'* ]]
  [ "$(rt_query "$PORT" "$PUBKEY" --size 500 --timeout 0.3)" = "no answer" ]
  wait_counter "$SOCK" roughtime-serve received 3
  run counters "$BATS_TEST_TMPDIR/snap.json" roughtime-serve
  echo "$output"
  for c in answered=2 answered_rfc=1 answered_google=1 batches=3 signatures=2 dropped_short=1; do
    grep -qx "$c" <<< "$output"
  done
  kill -TERM "$SERVE_PID"
  wait "$SERVE_PID"
  [ ! -e "$SOCK" ]
}

# ke_request HEX: the NTS-KE records (hex) sent over TLS 1.3 with ALPN ntske/1 to $KE; prints
# the response's records "C TYPE BODYHEX" one a line (Python's ssl: none of our NTS code).
ke_request() {
  /usr/bin/python3 - "$KE" "$PKI/ca.crt" "$@" <<'PY'
import socket, ssl, sys
port, ca, alpn, payload = int(sys.argv[1]), sys.argv[2], sys.argv[3], bytes.fromhex(sys.argv[4].replace(" ", ""))
ctx = ssl.create_default_context(cafile=ca)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.set_alpn_protocols([alpn])
try:
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="localhost")
except (ssl.SSLError, OSError) as e:
    print("handshake failed"); sys.exit(0)
s.sendall(payload)
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
i = 0
while i + 4 <= len(data):
    head, n = int.from_bytes(data[i:i+2], "big"), int.from_bytes(data[i+2:i+4], "big")
    print(head >> 15, head & 0x7fff, data[i+4:i+4+n].hex())
    i += 4 + n
PY
}

@test "nts-ke --serve --status-socket: handshakes, responses, cookies, failures by kind, key rotations" {
  nts_setup
  KE=$(free_port)
  nts-ke --serve --cert "$PKI/server.crt" --key "$PKI/server.key" --keys "$BATS_TEST_TMPDIR/keys" \
    -l "127.0.0.1:$KE" --rotate 1s --status-socket "$SOCK" 2> "$BATS_TEST_TMPDIR/ke.err" &
  local pid=$!
  track_pid "$pid"
  wait_tcp_bound "$KE"
  run nts-ke --ca-file "$PKI/ca.crt" -o json "localhost:$KE"   # our client: 8 cookies
  [ "$status" -eq 0 ]
  # an unknown critical record (Error 0), a duplicate Next Protocol (Error 1), a wrong ALPN
  [ "$(ke_request ntske/1 "8001 0002 0000  8004 0002 000f  8123 0000  8000 0000")" = $'1 2 0000\n1 0 ' ]
  [ "$(ke_request ntske/1 "8001 0002 0000  8001 0002 0000  8004 0002 000f  8000 0000")" = $'1 2 0001\n1 0 ' ]
  [ "$(ke_request http/1.1 "8000 0000")" = "handshake failed" ]
  wait_counter "$SOCK" nts-ke tls_failures 1
  check_snapshot "$BATS_TEST_TMPDIR/snap.json" nts-ke "$pid"
  run counters "$BATS_TEST_TMPDIR/snap.json" nts-ke
  echo "$output"
  for c in connections=4 handshakes=3 responses=1 cookies=8 errors_sent=2 error_unrecognized_critical=1 \
           error_bad_request=1 error_internal=0 refused=0; do
    grep -qx "$c" <<< "$output"
  done
  # --rotate 1s: the key file rotated, and counted
  local i
  for i in $(seq 50); do
    snapshot "$SOCK" "$BATS_TEST_TMPDIR/snap.json"
    counters "$BATS_TEST_TMPDIR/snap.json" nts-ke | grep -q '^key_rotations=[1-9]' && break
    sleep 0.2
  done
  counters "$BATS_TEST_TMPDIR/snap.json" nts-ke | grep -q '^key_rotations=[1-9]'
}

# lines_of TYPE FILE N: waits (10 s) until FILE, JSON lines a tool writes, has N records of TYPE.
lines_of() {
  local i
  for i in $(seq 100); do
    [ "$(grep -c "\"type\":\"$1\"" "$2" 2>/dev/null)" -ge "$3" ] && return 0
    sleep 0.1
  done
  echo "$2: fewer than $3 $1 records:" >&2
  cat "$2" >&2
  return 1
}

# last_of TYPE SOURCE FILE: the last record of TYPE and SOURCE in FILE, as sorted JSON.
last_of() { newest "$@"; }

@test "gps-reader --status-socket: the newest gps_fix and sample it wrote, and its counters so far" {
  local d=$BATS_TEST_TMPDIR
  mkfifo "$d/gps0"
  exec 5<> "$d/gps0"
  # 5>&-: the FIFO's one writer is this shell, so that closing it ends the input
  gps-reader -d "$d/gps0" --replay --lock 1 --not-before 2020-01-01 -o json --status-socket "$SOCK" \
    > "$d/out" 2> "$d/err" 5>&- &
  local pid=$!
  track_pid "$pid"
  cat "$BATS_TEST_DIRNAME/data/nmea/leap.nmea" >&5
  lines_of sample "$d/out" 3
  # an epoch is written when the next one begins: what is out now is all there will be
  local fixes
  fixes=$(grep -c '"type":"gps_fix"' "$d/out")
  wait_counter "$SOCK" gps://gps0 epochs "$fixes"
  check_snapshot "$d/snap.json" gps-reader "$pid"
  [ "$(newest sample gps://gps0 "$d/snap.json")" = "$(last_of sample gps://gps0 "$d/out")" ]
  [ "$(newest gps_fix gps://gps0 "$d/snap.json")" = "$(last_of gps_fix gps://gps0 "$d/out")" ]
  # the counters are those the final stats record will have once the input ends
  exec 5>&-
  wait "$pid"
  run counters "$d/snap.json" gps://gps0
  echo "$output"
  grep -qx "sentences=$(grep -c '^\$' "$BATS_TEST_DIRNAME/data/nmea/leap.nmea")" <<< "$output"
  [ "$(grep '"type":"stats"' "$d/out" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["counters"]["sentences"])')" = \
    "$(grep '^sentences=' <<< "$output" | cut -d= -f2)" ]
}

@test "pps-capture --status-socket: the newest PPS sample and its counters" {
  local d=$BATS_TEST_TMPDIR
  mkfifo "$d/edges"
  exec 5<> "$d/edges"
  pps-capture --second-from-clock -d sim:"$d/edges" -o json --status-socket "$SOCK" > "$d/out" 2> "$d/err" 5>&- &
  local pid=$!
  track_pid "$pid"
  { edge_line 1 0 1000; edge_line 2 1 -2000; edge_line 3 2 3000; edge_line 5 3 -4000; } >&5
  lines_of sample "$d/out" 4
  wait_counter "$SOCK" pps://sim samples 4
  check_snapshot "$d/snap.json" pps-capture "$pid"
  [ "$(newest sample pps://sim "$d/snap.json")" = "$(last_of sample pps://sim "$d/out")" ]
  run counters "$d/snap.json" pps://sim
  echo "$output"
  for c in pulses=4 samples=4 missed=1 too_far=0; do grep -qx "$c" <<< "$output"; done
}

@test "shm-export and shm-import --status-socket: samples written and read, the newest of each" {
  ipc_ns_start
  local d=$BATS_TEST_TMPDIR
  mkfifo "$d/in"
  exec 5<> "$d/in"
  nsenter -t "$IPC_NS" --ipc shm-export -s gen://a --status-socket "$d/export.sock" 2 < "$d/in" 2> "$d/export.err" &
  local export_pid=$!
  track_pid "$export_pid"
  nsenter -t "$IPC_NS" --ipc shm-import -i 20ms -o json --status-socket "$d/import.sock" 2 > "$d/out" 2> "$d/import.err" &
  local import_pid=$!
  track_pid "$import_pid"
  snapshot "$d/import.sock" "$d/import.json"   # shm-import is up before the first sample
  local i t
  for i in 1 2 3; do
    t=$(( 1700000000000000000 + i * 1000000000 ))
    printf '{"v":1,"type":"sample","source":"gen://a","time":%d,"offset":0.00%d,"delay":0,"dispersion":1e-6,"stratum":0,"leap":0,"refid":"GEN","poll":0}\n{"v":1,"type":"sample","source":"gen://b","time":%d,"offset":1,"delay":0,"dispersion":0,"stratum":0,"leap":0,"refid":"X","poll":0}\n' \
      "$t" "$i" "$t" | timecat -i json -o cbor >&5
    lines_of sample "$d/out" "$i"
  done
  wait_counter "$d/export.sock" shm-export written 3
  check_snapshot "$d/snap.json" shm-export "$export_pid"
  run counters "$d/snap.json" shm-export
  echo "$output"
  for c in samples=6 other_source=3 skipped=0 written=3 dropped=0; do grep -qx "$c" <<< "$output"; done
  [ "$(newest sample gen://a "$d/snap.json" | grep -o '"time": [0-9]*')" = '"time": 1700000003000000000' ]
  wait_counter "$d/import.sock" shm-import samples 3
  check_snapshot "$d/snap.json" shm-import "$import_pid"
  [ "$(newest sample shm://2 "$d/snap.json")" = "$(last_of sample shm://2 "$d/out")" ]
}

@test "clockadj --dry-run --status-socket: the newest applied record; applied, steps, refused" {
  local d=$BATS_TEST_TMPDIR
  mkfifo "$d/adjust"
  exec 5<> "$d/adjust"
  clockadj --dry-run -o json --status-socket "$SOCK" "$d/adjust" > "$d/out" 2> "$d/err" &
  local pid=$!
  track_pid "$pid"
  local a="'v': 1, 'type': 'adjust', 'source': 'ntp://192.0.2.1:123', 'time': 1700000000000000000"
  cbor "{$a, 'step': 0.25, 'reason': 'test'}" "{$a, 'frequency': 12.5}" "{$a, 'frequency': 900}" \
       "{'v': 1, 'type': 'tracking', 'source': 'local', 'time': 1}" >&5
  lines_of applied "$d/out" 2
  wait_counter "$SOCK" clockadj refused 1
  check_snapshot "$d/snap.json" clockadj "$pid"
  [ "$(newest applied CLOCK_REALTIME "$d/snap.json")" = "$(last_of applied CLOCK_REALTIME "$d/out")" ]
  run counters "$d/snap.json" clockadj
  echo "$output"
  for c in adjust=3 applied=2 steps=1 frequency=2 refused=1 skipped=1 interference=0; do grep -qx "$c" <<< "$output"; done
}

@test "--status-mode sets the socket's mode; a socket a live process answers is in use (69); a bad mode is 64" {
  local d=$BATS_TEST_TMPDIR
  mkfifo "$d/adjust"
  exec 5<> "$d/adjust"
  clockadj --dry-run --status-socket "$SOCK" --status-mode 0600 "$d/adjust" > /dev/null 2> "$d/err" 5>&- &
  local pid=$!
  track_pid "$pid"
  snapshot "$SOCK" "$d/snap.json"
  check_snapshot "$d/snap.json" clockadj "$pid"
  [ "$(stat -c %a "$SOCK")" = 600 ]
  run --separate-stderr clockadj --dry-run --status-socket "$SOCK" /dev/null
  [ "$status" -eq 69 ]
  [ "$stderr" = "clockadj: --status-socket: $SOCK: in use by a running process" ]
  for tool in "roughtime-serve -k x" "nts-ke --serve" "gps-reader" "pps-capture" "shm-export 2" "shm-import 2" "clockadj"; do
    run --separate-stderr $tool --status-socket "$d/x.sock" --status-mode 8888
    [ "$status" -eq 64 ] || { echo "$tool: $status $stderr"; false; }
    [[ "$stderr" == "${tool%% *}: --status-mode: "* ]] || { echo "$tool: $stderr"; false; }
  done
  # the socket is gone once the process ends (SIGTERM: clockadj holds its FIFO open itself)
  kill -TERM "$pid"
  wait "$pid"
  [ ! -e "$SOCK" ]
}

@test "roughtime-query -f --status-socket: a round every --interval, samples with its poll, the newest in the snapshot; SIGTERM exits 0" {
  require_cmd roughtime-query
  PORT=$(free_port)
  KEY=$BATS_TEST_TMPDIR/key
  rt_keygen "$KEY"
  rt_start --batch-delay 0
  local qsock=$BATS_TEST_TMPDIR/rq.sock
  roughtime-query -f --interval 2s -o json --status-socket "$qsock" "127.0.0.1:$PORT" "$PUBKEY" \
    > "$BATS_TEST_TMPDIR/q.json" 2> "$BATS_TEST_TMPDIR/q.err" &
  local pid=$!
  track_pid $pid
  wait_counter "$qsock" roughtime-query rounds 2
  check_snapshot "$BATS_TEST_TMPDIR/snap.json" roughtime-query "$pid" "$qsock"
  run counters "$BATS_TEST_TMPDIR/snap.json" roughtime-query
  echo "$output"
  grep -qx "rounds_failed=0" <<< "$output"
  grep -qx "conflicts=0" <<< "$output"
  grep -qx "samples=2" <<< "$output"
  kill -TERM $pid
  local status=0
  wait $pid || status=$?
  cat "$BATS_TEST_TMPDIR/q.err"
  [ "$status" -eq 0 ]
  [ ! -e "$qsock" ]
  # two samples, two seconds apart, each saying poll 1 (log2 of 2 s); the snapshot held the newest
  /usr/bin/python3 - "$BATS_TEST_TMPDIR/q.json" "$BATS_TEST_TMPDIR/snap.json" "roughtime://127.0.0.1:$PORT" <<'PY'
import json, sys
samples = [json.loads(l) for l in open(sys.argv[1])]
assert len(samples) >= 2 and all(s["type"] == "sample" and s["poll"] == 1 and s["verified"] for s in samples), samples
gap = (samples[1]["time"] - samples[0]["time"]) / 1e9
assert 1.5 < gap < 4, gap
snap = [json.loads(l) for l in open(sys.argv[2])]
newest = [r for r in snap if r["type"] == "sample" and r["source"] == sys.argv[3]]
assert newest and newest[0] == samples[1], (newest, samples[1])
PY
}

@test "roughtime-query: --interval and --status-socket need -f; -f not below 1 s" {
  run --separate-stderr roughtime-query --interval 1m 127.0.0.1:2002 "$(printf 'A%.0s' $(seq 43))="
  [ "$status" -eq 64 ]
  [ "$stderr" = "roughtime-query: --interval and --status-socket need -f (see -h)" ]
  run --separate-stderr roughtime-query -f --interval 500ms 127.0.0.1:2002 "$(printf 'A%.0s' $(seq 43))="
  [ "$status" -eq 64 ]
  [ "$stderr" = "roughtime-query: --interval: 500ms is below 1s" ]
}
