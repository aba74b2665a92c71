#!/usr/bin/env bats
# ntp-serve on loopback, asked by a raw-socket client: fields, unsynchronised answers, mode 6/7
# and malformed packets, counters on SIGUSR1, clean exit on SIGTERM, ACL reload on SIGHUP, IPv6.
load common
bats_require_minimum_version 1.5.0

# ntp_ask HOST PORT [HEX-BYTE-0] [SIZE]: one request, one line about the answer (or "no answer").
ntp_ask() {
  /usr/bin/python3 - "$@" <<'PY'
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
b0 = int(sys.argv[3], 16) if len(sys.argv) > 3 else 0x23
size = int(sys.argv[4]) if len(sys.argv) > 4 else 48
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(0.5)
cookie = 0x1122334455667788
req = bytes([b0, 0, 6, 0xec]) + bytes(36) + struct.pack("!Q", cookie) + bytes(max(0, size - 48))
s.sendto(req[:size], (host, port))
try:
    d = s.recv(4096)
except socket.timeout:
    print("no answer"); sys.exit(0)
refid = d[12:16]
print("len=%d leap=%d version=%d mode=%d stratum=%d poll=%d refid=%s kiss=%s origin_ok=%d" % (
    len(d), d[0] >> 6, d[0] >> 3 & 7, d[0] & 7, d[1], struct.unpack("!b", d[2:3])[0],
    ".".join(str(x) for x in refid), refid.decode("ascii", "replace"),
    struct.unpack("!Q", d[24:32])[0] == cookie))
PY
}

start_serve() {  # start_serve ARGS...: ntp-serve in the background, stderr in $BATS_TEST_TMPDIR/err
  ntp-serve "$@" 2> "$BATS_TEST_TMPDIR/err" &
  SERVE_PID=$!
  track_pid $SERVE_PID
}

@test "answers a client: mode 4, version echoed, stratum, refid 127.127.1.1, origin" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 5
  wait_udp_bound "$p"
  run ntp_ask 127.0.0.1 "$p" 23
  [ "$output" = "len=48 leap=0 version=4 mode=4 stratum=5 poll=6 refid=127.127.1.1 kiss=$(printf '\x7f\x7f\x01\x01') origin_ok=1" ]
  run ntp_ask 127.0.0.1 "$p" 1b   # version 3
  [[ "$output" == "len=48 leap=0 version=3 mode=4 stratum=5 "* ]]
  run ntp_ask 127.0.0.1 "$p" 13   # version 2
  [[ "$output" == *" version=2 mode=4 "* ]]
}

@test "stratum 1 sends refid LOCL" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 1
  wait_udp_bound "$p"
  run ntp_ask 127.0.0.1 "$p"
  [[ "$output" == *" stratum=1 "*" kiss=LOCL origin_ok=1" ]]
}

@test "without --stratum or --upstream: answers unsynchronised (leap 3, stratum 0)" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p"
  wait_udp_bound "$p"
  run ntp_ask 127.0.0.1 "$p"
  [[ "$output" == "len=48 leap=3 version=4 mode=4 stratum=0 "*"origin_ok=1" ]]
}

@test "IPv6 on ::1" {
  local p; p=$(free_port)
  start_serve --listen "[::1]:$p" --stratum 3
  wait_udp_bound "$p"
  run ntp_ask ::1 "$p"
  [[ "$output" == "len=48 leap=0 version=4 mode=4 stratum=3 "*"origin_ok=1" ]]
}

@test "mode 6, mode 7, other modes and malformed packets get no answer, and are counted (SIGUSR1)" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2
  wait_udp_bound "$p"
  run ntp_ask 127.0.0.1 "$p" 16 12   # ntpq READSTAT, 12 octets
  [ "$output" = "no answer" ]
  run ntp_ask 127.0.0.1 "$p" 26 48   # mode 6, 48 octets
  [ "$output" = "no answer" ]
  run ntp_ask 127.0.0.1 "$p" 17 48   # mode 7 (monlist)
  [ "$output" = "no answer" ]
  run ntp_ask 127.0.0.1 "$p" 21 48   # mode 1
  [ "$output" = "no answer" ]
  run ntp_ask 127.0.0.1 "$p" 24 48   # mode 4
  [ "$output" = "no answer" ]
  run ntp_ask 127.0.0.1 "$p" 23 47   # too short
  [ "$output" = "no answer" ]
  run ntp_ask 127.0.0.1 "$p" 23 50   # not a whole number of words
  [ "$output" = "no answer" ]
  run ntp_ask 127.0.0.1 "$p" 2b 48   # version 5
  [ "$output" = "no answer" ]
  run ntp_ask 127.0.0.1 "$p" 23 48
  [[ "$output" == len=48* ]]
  kill -USR1 "$SERVE_PID"
  for _ in $(seq 300); do grep -q counters "$BATS_TEST_TMPDIR/err" && break; sleep 0.1; done
  run grep counters "$BATS_TEST_TMPDIR/err"
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "ntp-serve: counters: received=9 answered=1 "* ]]
  [[ "$output" == *" dropped_malformed=3 dropped_mode6=2 dropped_mode7=1 dropped_mode=2 "* ]]
  kill -0 "$SERVE_PID"   # still running
}

@test "a malformed burst: no response is larger than its request" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2
  wait_udp_bound "$p"
  run /usr/bin/python3 - "$p" <<'PY'
import os, random, select, socket, sys, time
port = int(sys.argv[1])
rng = random.Random(int.from_bytes(os.urandom(4), "big"))
# One socket per request, so each response is matched to its request without waiting out a
# timeout per unanswered one; then every socket is drained until the server has been quiet.
sent = {}
for i in range(400):
    size = rng.choice([1, 12, 47, 48, 52, 68, 72, 100, 200, 480, 1200, 3000])
    body = bytearray(os.urandom(size))
    if i % 2 == 0 and size >= 48:
        body[0] = 0x23                     # a client header, garbage after it
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(bytes(body), ("127.0.0.1", port))
    sent[s] = size
    if i % 50 == 49:
        time.sleep(0.02)                   # bursts of 50: none lost to a full socket buffer
answered = 0
while True:
    ready, _, _ = select.select(list(sent), [], [], 0.5)
    if not ready:
        break
    for s in ready:
        d = s.recv(65536)
        answered += 1
        if len(d) > sent[s] or len(d) != 48:
            print("response of %d octets to a %d-octet request" % (len(d), sent[s])); sys.exit(1)
print("answered", answered)
PY
  echo "$output"
  [ "$status" -eq 0 ]
  # Some garbage after a client header is valid (48 + a MAC-sized tail), most is not: the
  # server must have answered something, and only 48-octet responses.
  [[ "$output" == *"answered "* ]]
  [[ "$output" != *"answered 0"* ]]
}

@test "SIGTERM and SIGINT: exit 0 after one counters line" {
  local p; p=$(free_port)
  ntp-serve --listen "127.0.0.1:$p" --stratum 2 2> "$BATS_TEST_TMPDIR/err" &
  local pid=$!
  track_pid $pid
  wait_udp_bound "$p"
  ntp_ask 127.0.0.1 "$p" >/dev/null
  kill -TERM $pid
  local rc=0
  wait $pid || rc=$?
  [ "$rc" -eq 0 ]
  run cat "$BATS_TEST_TMPDIR/err"
  [[ "$output" == "ntp-serve: exiting: received=1 answered=1 "* ]]
  [ "${#lines[@]}" -eq 1 ]
  ntp-serve --listen "127.0.0.1:$p" --stratum 2 --workers 3 2> /dev/null &
  pid=$!
  track_pid $pid
  wait_udp_bound "$p"
  kill -INT $pid
  rc=0
  wait $pid || rc=$?
  [ "$rc" -eq 0 ]
}

@test "SIGHUP re-reads the --acl-file; a bad file keeps the old rules" {
  local p; p=$(free_port)
  local acl=$BATS_TEST_TMPDIR/acl
  echo "allow all" > "$acl"
  start_serve -v --listen "127.0.0.1:$p" --stratum 2 --acl-file "$acl"
  wait_udp_bound "$p"
  run ntp_ask 127.0.0.1 "$p"
  [[ "$output" == *" stratum=2 "* ]]
  printf '# now refused\ndeny 127.0.0.1/32\n' > "$acl"
  kill -HUP "$SERVE_PID"
  local i
  for i in $(seq 300); do
    run ntp_ask 127.0.0.1 "$p"
    [[ "$output" == *"kiss=DENY"* ]] && break
    sleep 0.1
  done
  [[ "$output" == *" stratum=0 "*"kiss=DENY origin_ok=1" ]]
  echo "bogus line" > "$acl"
  kill -HUP "$SERVE_PID"
  for i in $(seq 300); do grep -q "keeping the old rules" "$BATS_TEST_TMPDIR/err" && break; sleep 0.1; done
  grep -q "ntp-serve: reload: $acl: line 1: .*(keeping the old rules)" "$BATS_TEST_TMPDIR/err"
  run ntp_ask 127.0.0.1 "$p"
  [[ "$output" == *"kiss=DENY"* ]]
  echo "restrict 127.0.0.0/8" > "$acl"
  kill -HUP "$SERVE_PID"
  for i in $(seq 300); do
    run ntp_ask 127.0.0.1 "$p"
    [[ "$output" == *"kiss=RSTR"* ]] && break
    sleep 0.1
  done
  [[ "$output" == *"kiss=RSTR"* ]]
}

@test "--stats-interval writes stats records (JSON lines with -o json)" {
  local p; p=$(free_port)
  ntp-serve --listen "127.0.0.1:$p" --stratum 2 --stats-interval 200ms -o json \
    > "$BATS_TEST_TMPDIR/out" 2>/dev/null &
  track_pid $!
  wait_udp_bound "$p"
  ntp_ask 127.0.0.1 "$p" >/dev/null
  # Until a record counts the answer (a hang guard of 30 s, not a timed assertion).
  local i
  for i in $(seq 300); do
    [ "$(wc -l < "$BATS_TEST_TMPDIR/out")" -ge 2 ] && grep -q '"answered":1,' "$BATS_TEST_TMPDIR/out" && break
    sleep 0.1
  done
  run cat "$BATS_TEST_TMPDIR/out"
  [ "${#lines[@]}" -ge 2 ]
  [[ "${lines[0]}" == '{"v":1,"type":"stats","source":"ntp-serve",'* ]]
  [[ "${lines[-1]}" == *'"answered":1,'* ]]
  # The records' own times: one every interval, never two at once (the timer never fires early;
  # half the interval leaves room for a late callback before an on-time one).
  printf '%s\n' "${lines[@]}" | /usr/bin/python3 -c '
import json, sys
t = [json.loads(l)["time"] for l in sys.stdin]
assert all(b - a >= 100_000_000 for a, b in zip(t, t[1:])), t'
}

@test "--stats-interval with -o cbor: a CBOR stream timecat reads" {
  local p; p=$(free_port)
  ntp-serve --listen "127.0.0.1:$p" --stratum 2 --workers 2 --stats-interval 100ms -o cbor \
    > "$BATS_TEST_TMPDIR/out.cbor" 2>/dev/null &
  local pid=$!
  track_pid $pid
  wait_udp_bound "$p"
  local i
  for i in $(seq 300); do   # until two records came (a hang guard, not a timed assertion)
    [ "$(timecat -o json "$BATS_TEST_TMPDIR/out.cbor" 2>/dev/null | wc -l)" -ge 2 ] && break
    sleep 0.1
  done
  kill -TERM $pid
  wait $pid
  run timecat -o json "$BATS_TEST_TMPDIR/out.cbor"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -ge 2 ]
  [[ "${lines[0]}" == '{"v":1,"type":"stats","source":"ntp-serve",'*'"received":0,'* ]]
}

# ntp_burst HOST PORT N GAP_MS: N requests GAP_MS apart from one socket; once every reply came
# (a hang guard of 30 s) prints "replies=R held=H max_hold_ms=M", from the server's own
# timestamps in the replies: H requests were answered only after a later request had been
# received (held back and answered together with it), and M is the longest a request waited
# between its receive and transmit timestamps.
ntp_burst() {
  /usr/bin/python3 - "$@" <<'PY'
import socket, struct, sys, time
host, port, n, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]) / 1000
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(n):
    cookie = 0x5555000000000000 + i
    s.sendto(bytes([0x23, 0, 6, 0xec]) + bytes(36) + struct.pack("!Q", cookie), (host, port))
    time.sleep(gap)
s.settimeout(30)
got = {}  # request index -> (receive, transmit), NTP timestamps of the server
while len(got) < n:
    try:
        d = s.recv(4096)
    except socket.timeout:
        break
    i = struct.unpack("!Q", d[24:32])[0] - 0x5555000000000000
    if 0 <= i < n:
        got[i] = struct.unpack("!QQ", d[32:48])
held = sum(1 for i in got if any(j > i and got[i][1] >= got[j][0] for j in got))
hold = max((tx - rx for rx, tx in got.values()), default=0)
print("replies=%d held=%d max_hold_ms=%d" % (len(got), held, hold * 1000 >> 32))
PY
}

@test "--coalesce: requests that come often are read on a timer, not each on its own wake-up" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2 --coalesce 300ms
  wait_udp_bound "$p"
  # Two requests 20 ms apart are "often" (under half of 300 ms): from then on the server sleeps
  # 300 ms between reads, so the requests arriving meanwhile are read and answered together when
  # that sleep ends: an earlier one is sent after a later one was received. A server that does
  # not linger answers each of them in the 20 ms before the next comes.
  run ntp_burst 127.0.0.1 "$p" 5 20
  echo "$output"
  [[ "$output" == "replies=5 held="* ]]
  local held=${output#*held=}
  [ "${held%% *}" -ge 1 ] || { echo "no request waited for a later one: the server did not linger"; return 1; }
  kill -USR1 "$SERVE_PID"
  for _ in $(seq 300); do grep -q counters "$BATS_TEST_TMPDIR/err" && break; sleep 0.1; done
  run grep counters "$BATS_TEST_TMPDIR/err"
  [[ "$output" == "ntp-serve: counters: received=5 answered=5 "* ]]
  local wakeups=${output##*wakeups=}
  [ "${wakeups%% *}" -lt 5 ]   # several requests per wake-up
}

@test "--coalesce 0: every request is answered as it comes" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2 --coalesce 0
  wait_udp_bound "$p"
  run ntp_burst 127.0.0.1 "$p" 5 1
  echo "$output"
  [[ "$output" == "replies=5 held="* ]]
  # The server's own receive and transmit timestamps: no request waited for a lingering timer.
  # (Not the client's round trip, which a loaded machine stretches.)
  local hold=${output##*=}
  [ "$hold" -lt 250 ]
}
