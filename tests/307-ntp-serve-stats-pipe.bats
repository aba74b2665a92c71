#!/usr/bin/env bats
# The reader of ntp-serve's stats output goes away (a monitoring pipe closes): ntp-serve says so
# once on standard error and keeps serving.
load common
bats_require_minimum_version 1.5.0

ask() {
  /usr/bin/python3 - "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(bytes([0x23]) + bytes(47), ("127.0.0.1", int(sys.argv[1])))
try:
    d = s.recv(4096); print("mode=%d stratum=%d" % (d[0] & 7, d[1]))
except socket.timeout:
    print("no answer")
PY
}

@test "stats reader gone: one line on stderr, and ntp-serve still answers" {
  local p; p=$(free_port) fifo=$BATS_TEST_TMPDIR/stats
  mkfifo "$fifo"
  ntp-serve --listen "127.0.0.1:$p" --stratum 2 --stats-interval 50ms -o json > "$fifo" 2> "$BATS_TEST_TMPDIR/err" &
  local pid=$!
  track_pid $pid
  head -n 1 "$fifo" > "$BATS_TEST_TMPDIR/first"   # reads one record, then closes the pipe
  grep -q '"type":"stats"' "$BATS_TEST_TMPDIR/first" || grep -q '"type": *"stats"' "$BATS_TEST_TMPDIR/first"
  for _ in $(seq 50); do
    grep -q 'stats output stopped' "$BATS_TEST_TMPDIR/err" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$BATS_TEST_TMPDIR/err"
  kill -0 "$pid"   # still running
  wait_udp_bound "$p"
  run ask "$p"
  [ "$output" = "mode=4 stratum=2" ]
  [ "$(grep -c 'stats output stopped' "$BATS_TEST_TMPDIR/err")" -eq 1 ]
  grep -q '^ntp-serve: stdout: stats output stopped, still serving: Broken pipe$' "$BATS_TEST_TMPDIR/err"
}
