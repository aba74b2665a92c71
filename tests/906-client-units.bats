#!/usr/bin/env bats
# scripts/timepipe-client: options, and the pipeline with --dry-run against a loopback ntp-serve;
# timepipe-client.service run by hand into clockadj's FIFO, and the group sysusers.d creates.

load common
load 960-status-lib

CLIENT=$BATS_TEST_DIRNAME/../scripts/timepipe-client

teardown() {
  kill_tracked
}

@test "timepipe-client --help; no server is EX_USAGE with one line; a bad option too" {
  run "$CLIENT" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"ntp-query --follow SERVER... | discipline | clockadj"* ]]
  run "$CLIENT"
  [ "$status" -eq 64 ]
  [ "$output" = "timepipe-client: no server given (e.g. timepipe-client pool.ntp.org)" ]
  run "$CLIENT" --bogus x
  [ "$status" -eq 64 ]
  [ "$output" = "timepipe-client: --bogus: unknown option" ]
}

@test "timepipe-client -n: ntp-query | discipline | clockadj --dry-run writes dry-run applied records" {
  require_cmd discipline
  local port
  port=$(free_port)
  ntp-serve -s 2 -l "127.0.0.1:$port" 2>/dev/null &
  track_pid $!
  wait_udp_bound "$port"
  mkdir "$BATS_TEST_TMPDIR/status"
  # its own session, so that teardown ends the whole pipeline, not only the script
  TIMEPIPE_BIN=$TIMEPIPE_BUILD/bin setsid timeout 60 "$CLIENT" -n -o json -S "$BATS_TEST_TMPDIR/status" \
    "127.0.0.1:$port" > "$BATS_TEST_TMPDIR/out" &
  track_group $!
  local i
  for i in $(seq 300); do grep -q '"type":"applied"' "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
  grep -q '"type":"applied".*"dry_run":true' "$BATS_TEST_TMPDIR/out"
  # --status-dir: one status socket per tool
  [ -S "$BATS_TEST_TMPDIR/status/ntp-query.sock" ]
  [ -S "$BATS_TEST_TMPDIR/status/discipline.sock" ]
  [ -S "$BATS_TEST_TMPDIR/status/clockadj.sock" ]
}

# PID 1 here is not systemd, so the units cannot be started: the test runs the client unit's
# own ExecStart line, as systemd would (its $$ turned into $, its /usr/local paths into the
# build, StateDirectory= and the environment file's variables given), into a FIFO that a
# `clockadj --dry-run` reads as clockadj.service reads clockadj.socket's.
@test "timepipe-client.service's ExecStart, run as systemd would, feeds clockadj's FIFO" {
  require_cmd discipline
  local unit=$BATS_TEST_DIRNAME/../contrib/systemd/timepipe-client.service port cmd
  port=$(free_port)
  ntp-serve -s 2 -l "127.0.0.1:$port" 2>/dev/null &
  track_pid $!
  wait_udp_bound "$port"
  mkfifo "$BATS_TEST_TMPDIR/adjust"
  mkdir "$BATS_TEST_TMPDIR/state" "$BATS_TEST_TMPDIR/run"
  clockadj --dry-run -o json "$BATS_TEST_TMPDIR/adjust" > "$BATS_TEST_TMPDIR/applied" 2>&1 3>&- &
  track_pid $!
  cmd=$(sed -n 's/^ExecStart=//p' "$unit" | sed -e 's/\$\$/$/g' \
        -e "s#/usr/local/s\\?bin/#$TIMEPIPE_BUILD/bin/#g" -e "s#/run/timepipe/adjust#$BATS_TEST_TMPDIR/adjust#g")
  [[ "$cmd" == "/bin/sh -c '"*"'" ]]
  cmd=${cmd#/bin/sh -c \'}; cmd=${cmd%\'}
  # its own session, so that teardown ends the whole pipeline (3>&-: not bats' output either)
  TIMEPIPE_SERVERS="127.0.0.1:$port" DISCIPLINE_OPTS="--min-sources 1" STATE_DIRECTORY=$BATS_TEST_TMPDIR/state \
    RUNTIME_DIRECTORY=$BATS_TEST_TMPDIR/run setsid /bin/sh -c "$cmd" 2> "$BATS_TEST_TMPDIR/client.err" 3>&- &
  track_group $!
  local i
  for i in $(seq 300); do grep -q '"type":"applied"' "$BATS_TEST_TMPDIR/applied" && break; sleep 0.1; done
  grep -q '"type":"applied".*"dry_run":true' "$BATS_TEST_TMPDIR/applied" || { cat "$BATS_TEST_TMPDIR/applied" "$BATS_TEST_TMPDIR/client.err"; false; }
  # one status socket per tool in the unit's RuntimeDirectory=, each answering with its status record
  grep -q '^RuntimeDirectory=timepipe/timepipe-client$' "$unit"
  local tool
  for tool in ntp-query discipline; do
    snapshot "$BATS_TEST_TMPDIR/run/$tool.sock" "$BATS_TEST_TMPDIR/$tool.json"
    head -1 "$BATS_TEST_TMPDIR/$tool.json" | grep -q "\"type\":\"status\",\"source\":\"$tool\""
  done
}

@test "sysusers.d/timepipe.conf creates the group clockadj.socket names (in a scratch root)" {
  require_cmd systemd-sysusers
  local conf=$BATS_TEST_DIRNAME/../contrib/sysusers.d/timepipe.conf root=$BATS_TEST_TMPDIR/root
  mkdir -p "$root/etc"
  systemd-sysusers --root="$root" "$conf"
  grep -q '^timepipe:x:[0-9]*:' "$root/etc/group"
  grep -q '^SocketGroup=timepipe$' "$BATS_TEST_DIRNAME/../contrib/systemd/clockadj.socket"
  grep -q '^SupplementaryGroups=timepipe$' "$BATS_TEST_DIRNAME/../contrib/systemd/timepipe-client.service"
}
