#!/usr/bin/env bats
# nts-ke.service and ntp-serve-nts.service, run by hand as systemd would (PID 1 here is not
# systemd): their own ExecStart lines with %d (credentials: the certificate and key), %S (the
# state directory they share) and the environment files' options given. chronyd 4.3 then
# authenticates the server through them, and the cookie keys are owner-only.
load common
load 750-nts-lib
load 960-status-lib

UNITS=$BATS_TEST_DIRNAME/../contrib/systemd

setup() {
  nts_setup
}

teardown() { kill_tracked; }

# exec_start UNIT CREDS STATE [RUNTIME]: the unit's ExecStart with specifiers and /usr/local
# resolved (%t, the runtime directory root, is RUNTIME: $BATS_TEST_TMPDIR/run by default).
exec_start() {
  sed -n 's/^ExecStart=//p' "$1" | sed -e "s#/usr/local/s\\?bin/#$TIMEPIPE_BUILD/bin/#g" -e "s#%d#$2#g" -e "s#%S#$3#g" \
    -e "s#%t#${4:-$BATS_TEST_TMPDIR/run}#g"
}

@test "the NTS units' ExecStart lines: chronyd authenticates, the cookie keys are owner-only" {
  local creds=$BATS_TEST_TMPDIR/creds state=$BATS_TEST_TMPDIR/state ke port
  mkdir -p "$creds" "$state/timepipe-nts" "$BATS_TEST_TMPDIR/run/timepipe/nts-ke" "$BATS_TEST_TMPDIR/run/timepipe/ntp-serve-nts"
  chmod 0700 "$state/timepipe-nts"
  cp "$PKI/server.crt" "$creds/nts.crt"; cp "$PKI/server.key" "$creds/nts.key"
  ke=$(free_port); port=$(free_port)
  local NTS_KE_OPTS="-l 127.0.0.1:$ke --ntp-server 127.0.0.1:$port"
  local NTP_SERVE_OPTS="-l 127.0.0.1:$port --stratum 2"
  local cmd
  cmd=$(exec_start "$UNITS/nts-ke.service" "$creds" "$state")
  [[ "$cmd" == *"--keys $state/timepipe-nts/cookie-keys --rotate 168h --status-socket $BATS_TEST_TMPDIR/run/timepipe/nts-ke/status.sock \$NTS_KE_OPTS" ]]
  # systemd splits $VAR at whitespace, as the shell does unquoted. exec: the tracked pid must be
  # the tool's, or teardown kills only a subshell and the tool, holding Bats' output open, lives on
  eval "exec ${cmd//\$NTS_KE_OPTS/$NTS_KE_OPTS}" 2> "$BATS_TEST_TMPDIR/ke.err" &
  track_pid $!
  wait_tcp_bound "$ke"
  [ "$(stat -c %a "$state/timepipe-nts/cookie-keys")" = 600 ]
  cmd=$(exec_start "$UNITS/ntp-serve-nts.service" "$creds" "$state")
  eval "exec ${cmd//\$NTP_SERVE_OPTS/$NTP_SERVE_OPTS}" 2> "$BATS_TEST_TMPDIR/serve.err" &
  track_pid $!
  wait_udp_bound "$port"
  start_chronyd_nts_client 127.0.0.1 "$ke" "$PKI"
  wait_authenticated || { cat "$BATS_TEST_TMPDIR"/*.err; false; }
  # each unit's status socket, in its RuntimeDirectory=, answers with its status record first
  local unit
  for unit in nts-ke ntp-serve-nts; do
    grep -q "^RuntimeDirectory=timepipe/$unit\$" "$UNITS/$unit.service"
    snapshot "$BATS_TEST_TMPDIR/run/timepipe/$unit/status.sock" "$BATS_TEST_TMPDIR/$unit.json"
    head -1 "$BATS_TEST_TMPDIR/$unit.json" | grep -q '"type":"status"'
  done
}

@test "scripts/timepipe-nts-server: --help, missing certificate EX_USAGE; the composition serves chronyd" {
  local script=$BATS_TEST_DIRNAME/../scripts/timepipe-nts-server
  run "$script" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"nts-ke --serve ... & ntp-serve --nts-keys KEYFILE"* ]]
  run "$script"
  [ "$status" -eq 64 ]
  [ "$output" = "timepipe-nts-server: --cert and --key are required" ]
  local ke port
  ke=$(free_port); port=$(free_port)
  mkdir "$BATS_TEST_TMPDIR/status"
  # its own session: if the test fails half-way, teardown ends both tools, not only the script
  TIMEPIPE_BIN=$TIMEPIPE_BUILD/bin setsid "$script" -c "$PKI/server.crt" -k "$PKI/server.key" -S "$BATS_TEST_TMPDIR/status" \
    -K "$BATS_TEST_TMPDIR/nts/keys" -l "127.0.0.1:$ke" -N "127.0.0.1:$port" -- -l "127.0.0.1:$port" -s 2 \
    2> "$BATS_TEST_TMPDIR/script.err" &
  local pid=$!
  track_group "$pid"
  wait_tcp_bound "$ke"
  wait_udp_bound "$port"
  [ "$(stat -c %a "$BATS_TEST_TMPDIR/nts")" = 700 ]
  start_chronyd_nts_client 127.0.0.1 "$ke" "$PKI"
  wait_authenticated
  [ -S "$BATS_TEST_TMPDIR/status/nts-ke.sock" ]      # --status-dir: a socket for each tool
  [ -S "$BATS_TEST_TMPDIR/status/ntp-serve.sock" ]
  kill -TERM "$pid"
  wait "$pid" || true
  ! pgrep -f "nts-keys $BATS_TEST_TMPDIR/nts/keys" > /dev/null   # both tools ended with it
}
