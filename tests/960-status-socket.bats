#!/usr/bin/env bats
# --status-socket in ntp-serve, ntp-query --follow and discipline: each answers a client that
# connects with a status snapshot (its status record, then the newest record of each type and
# source) and EOF; fetched by Debian's Python over AF_UNIX and decoded by timecat. The socket's
# mode, a stale socket file replaced, a live one "in use", removal at exit, and ntp-serve --user
# still answering after the privilege drop.
bats_require_minimum_version 1.5.0
load common
load 960-status-lib

setup() {
  require_cmd ntp-serve
  require_cmd timecat
  SOCK=$BATS_TEST_TMPDIR/status.sock
}

teardown() {
  kill_tracked
  if [ -n "${PUBDIR:-}" ]; then rm -rf "$PUBDIR"; fi
}

# serve [OPTIONS]: ntp-serve on a fresh loopback port at stratum 2; sets PORT and SERVE_PID.
serve() {
  PORT=$(free_port)
  ntp-serve --listen "127.0.0.1:$PORT" --stratum 2 "$@" 2> "$BATS_TEST_TMPDIR/serve.err" &
  SERVE_PID=$!
  track_pid $SERVE_PID
  wait_udp_bound "$PORT"
  # the status socket comes after the UDP ports: wait for it too (up to ~10 s)
  local a prev="" i
  for a in "$@"; do
    if [ "$prev" = --status-socket ]; then
      for i in $(seq 200); do [ -S "$a" ] && break; sleep 0.05; done
      [ -S "$a" ] || { echo "no status socket at $a" >&2; return 1; }
    fi
    prev=$a
  done
}

@test "ntp-serve --status-socket: status record, counters summed over workers; mode 0666; removed at exit" {
  serve --workers 2 --status-socket "$SOCK"
  [ "$(stat -c %a "$SOCK")" = 666 ]
  [ "$(stat -c %F "$SOCK")" = socket ]
  for _ in 1 2 3; do [ "$(ntp_answer_fields "$PORT" 2)" = 2 ]; done
  wait_for "$SOCK" 'any(r["type"] == "stats" and r["counters"]["answered"] == 3 for r in recs)'
  check_snapshot "$BATS_TEST_TMPDIR/snap.json" ntp-serve "$SERVE_PID" "$SOCK"
  [ "$(field "$BATS_TEST_TMPDIR/snap.json" stats ntp-serve 'r["counters"]["received"]')" = 3 ]
  [ "$(field "$BATS_TEST_TMPDIR/snap.json" stats ntp-serve 'r["counters"]["kod_rate"]')" = 0 ]
  # Exactly two records: status, stats (no upstream here).
  [ "$(wc -l < "$BATS_TEST_TMPDIR/snap.json")" -eq 2 ]
  kill -TERM "$SERVE_PID"
  wait "$SERVE_PID"
  [ ! -e "$SOCK" ]
}

@test "ntp-serve --status-mode 0600; a bad mode is EX_USAGE" {
  serve --status-socket "$SOCK" --status-mode 0600
  [ "$(stat -c %a "$SOCK")" = 600 ]
  run -64 ntp-serve --listen 127.0.0.1:0 --stratum 2 --status-socket "$SOCK.2" --status-mode 0999
  [[ "$output" == "ntp-serve: --status-mode: "* ]]
}

@test "ntp-serve --upstream: the upstream's newest sample is in the snapshot" {
  /usr/bin/python3 -c '
import json, time
t = time.time_ns()
print(json.dumps({"v": 1, "type": "sample", "source": "ntp://192.0.2.1:123", "time": t, "offset": 0.00025,
  "delay": 0.001, "dispersion": 0.0001, "stratum": 1, "leap": 0, "refid": "GPS", "poll": 4}))' |
    timecat -i json -o cbor > "$BATS_TEST_TMPDIR/up.cbor"
  serve --upstream "$BATS_TEST_TMPDIR/up.cbor" --status-socket "$SOCK"
  wait_for "$SOCK" 'any(r["type"] == "sample" for r in recs)'
  [ "$(field "$BATS_TEST_TMPDIR/snap.json" sample ntp://192.0.2.1:123 'r["offset"]')" = 0.00025 ]
  [ "$(field "$BATS_TEST_TMPDIR/snap.json" sample ntp://192.0.2.1:123 'r["refid"]')" = GPS ]
}

@test "a stale socket file is replaced; a live one is in use (EX_UNAVAILABLE); another file is refused" {
  stale_socket "$SOCK"
  [ -S "$SOCK" ]
  serve --status-socket "$SOCK"
  snapshot "$SOCK" "$BATS_TEST_TMPDIR/a.json"
  check_snapshot "$BATS_TEST_TMPDIR/a.json" ntp-serve "$SERVE_PID" "$SOCK"
  run -69 ntp-serve --listen "127.0.0.1:$(free_port)" --stratum 2 --status-socket "$SOCK"
  [ "$output" = "ntp-serve: --status-socket: $SOCK: in use by a running process" ]
  # the first still answers
  snapshot "$SOCK" "$BATS_TEST_TMPDIR/b.json"
  check_snapshot "$BATS_TEST_TMPDIR/b.json" ntp-serve "$SERVE_PID" "$SOCK"
  : > "$BATS_TEST_TMPDIR/plain"
  run -73 ntp-serve --listen "127.0.0.1:$(free_port)" --stratum 2 --status-socket "$BATS_TEST_TMPDIR/plain"
  [ "$output" = "ntp-serve: --status-socket: $BATS_TEST_TMPDIR/plain: exists and is not a socket" ]
  [ -f "$BATS_TEST_TMPDIR/plain" ]
}

@test "a silent client does not stop ntp-serve from answering NTP or other status clients" {
  serve --status-socket "$SOCK"
  # Connected and never reading: the snapshot is small, so the server writes it and closes;
  # either way the client holds its end open meanwhile.
  /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1]); time.sleep(30)' "$SOCK" &
  track_pid $!
  [ "$(ntp_answer_fields "$PORT" 2)" = 2 ]
  snapshot "$SOCK" "$BATS_TEST_TMPDIR/a.json"
  check_snapshot "$BATS_TEST_TMPDIR/a.json" ntp-serve "$SERVE_PID" "$SOCK"
}

@test "ntp-serve --user nobody: the socket made as root still answers after the drop" {
  [ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; return 1; }
  # A directory every user may enter (the test's own is root's alone), as /run/timepipe is.
  PUBDIR=$(mktemp -d /tmp/timepipe-960.XXXXXX)
  chmod 755 "$PUBDIR"
  SOCK=$PUBDIR/status.sock
  serve --status-socket "$SOCK" --user nobody -v
  for _ in $(seq 50); do grep -q 'running as nobody' "$BATS_TEST_TMPDIR/serve.err" && break; sleep 0.1; done
  grep -q 'running as nobody' "$BATS_TEST_TMPDIR/serve.err"
  [ "$(awk '$1 == "Uid:" { print $2 }' /proc/$SERVE_PID/status)" = "$(id -u nobody)" ]
  [ "$(ntp_answer_fields "$PORT" 2)" = 2 ]
  wait_for "$SOCK" 'any(r["type"] == "stats" and r["counters"]["answered"] == 1 for r in recs)'
  check_snapshot "$BATS_TEST_TMPDIR/snap.json" ntp-serve "$SERVE_PID" "$SOCK"
  # ... and as a user who is not root, over a socket of mode 0666
  setpriv --reuid nobody --regid nogroup --clear-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1])
assert len(s.recv(65536)) > 0' "$SOCK"
}

@test "ntp-query --follow --status-socket: each source's newest sample and counters, as on stdout" {
  require_cmd ntp-query
  serve
  ntp-query --follow --minpoll 0 --maxpoll 0 -o cbor --status-socket "$SOCK" "127.0.0.1:$PORT" \
    > "$BATS_TEST_TMPDIR/out.cbor" 2> "$BATS_TEST_TMPDIR/q.err" &
  local qpid=$!
  track_pid $qpid
  wait_for "$SOCK" 'any(r["type"] == "stats" and r["counters"]["received"] >= 3 for r in recs)'
  check_snapshot "$BATS_TEST_TMPDIR/snap.json" ntp-query "$qpid" "$SOCK"
  local src="ntp://127.0.0.1:$PORT"
  # The snapshot's sample is one ntp-query wrote on stdout (the newest, or one written since).
  timecat -o json < "$BATS_TEST_TMPDIR/out.cbor" > "$BATS_TEST_TMPDIR/out.json"
  local offset; offset=$(field "$BATS_TEST_TMPDIR/snap.json" sample "$src" 'repr(r["offset"])')
  grep -q "\"offset\":$offset," "$BATS_TEST_TMPDIR/out.json" || {
    sleep 0.5; timecat -o json < "$BATS_TEST_TMPDIR/out.cbor" > "$BATS_TEST_TMPDIR/out.json"
    grep -q "\"offset\":$offset," "$BATS_TEST_TMPDIR/out.json"; }
  [ "$(field "$BATS_TEST_TMPDIR/snap.json" stats "$src" 'sorted(r["counters"])')" = \
    "['bad', 'kod', 'received', 'sent', 'timeouts', 'unsynchronised']" ]
  [ "$(field "$BATS_TEST_TMPDIR/snap.json" stats "$src" 'r["counters"]["sent"] >= r["counters"]["received"]')" = True ]
  kill -TERM $qpid
  wait $qpid
  [ ! -e "$SOCK" ]
}

@test "discipline --status-socket: tracking and the source's mark while it blocks on stdin" {
  require_cmd discipline
  /usr/bin/python3 - > "$BATS_TEST_TMPDIR/in.json" <<'PY'
import json
t = 1700000000 * 10**9
for i in range(6):
    for h in (1, 2, 3):
        print(json.dumps({"v": 1, "type": "sample", "source": "ntp://192.0.2.%d:123" % h,
            "time": t + (i * 64 + h) * 10**9, "offset": 0.05 if h == 3 else 1e-5 * h,
            "delay": 0.0002, "dispersion": 1e-6, "stratum": 2, "leap": 0,
            "refid": "192.0.2.7", "poll": 6, "root_delay": 0.001, "root_dispersion": 0.001}))
PY
  timecat -i json -o cbor < "$BATS_TEST_TMPDIR/in.json" > "$BATS_TEST_TMPDIR/in.cbor"
  # stdin stays open (a FIFO held by this shell): discipline waits in read() meanwhile.
  mkfifo "$BATS_TEST_TMPDIR/fifo"
  discipline -o json --status-socket "$SOCK" < "$BATS_TEST_TMPDIR/fifo" > "$BATS_TEST_TMPDIR/out.json" &
  local dpid=$!
  track_pid $dpid
  exec 5> "$BATS_TEST_TMPDIR/fifo"
  cat "$BATS_TEST_TMPDIR/in.cbor" >&5
  wait_for "$SOCK" 'len([r for r in recs if r["type"] == "source_state"]) == 3'
  check_snapshot "$BATS_TEST_TMPDIR/snap.json" discipline "$dpid" "$SOCK"
  local s
  s=$(for h in 1 2 3; do field "$BATS_TEST_TMPDIR/snap.json" source_state "ntp://192.0.2.$h:123" 'r["state"]'; done | sort | tr -d '\n')
  [ "$s" = '*+x' ]
  [ "$(field "$BATS_TEST_TMPDIR/snap.json" source_state ntp://192.0.2.3:123 'r["reason"]')" = \
    "falseticker: outside the intersection of the majority" ]
  # Once discipline has read all it was given and blocks on stdin, the tracking record is the
  # last one it wrote on stdout. (Three source_state records come with its first update; a slow,
  # sanitized build may still be at a later one: ask again, within a bound, until it is idle.)
  local want got i
  for i in $(seq 50); do
    want=$(grep '"type":"tracking"' "$BATS_TEST_TMPDIR/out.json" | tail -1 |
      /usr/bin/python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')
    snapshot "$SOCK" "$BATS_TEST_TMPDIR/snap.json"
    check_snapshot "$BATS_TEST_TMPDIR/snap.json" discipline "$dpid" "$SOCK"
    got=$(grep '"type":"tracking"' "$BATS_TEST_TMPDIR/snap.json" |
      /usr/bin/python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))')
    [ "$want" != "$got" ] || break
    sleep 0.2
  done
  [ "$want" = "$got" ] || { echo "stdout's last tracking: $want"; echo "snapshot's: $got"; false; }
  exec 5>&-
  wait $dpid
  [ ! -e "$SOCK" ]
}
