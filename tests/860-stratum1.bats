#!/usr/bin/env bats
# scripts/timepipe-stratum1 composes a stratum-1 server: gps-reader | pps-capture | discipline,
# its adjust records to clockadj (--dry-run here: the clock is never touched) and its tracking
# records to ntp-serve. The receiver is tests/helpers/nmea-gen on a pty, sending the current
# time once a second; the pulse a simulated PPS device fed through a FIFO at each whole second.
# A plain NTP client (Debian's python, none of our code) then sees stratum 1 and refid GPS or PPS.
load common

STRATUM1=$BATS_TEST_DIRNAME/../scripts/timepipe-stratum1
NMEA_GEN=$BATS_TEST_DIRNAME/helpers/nmea-gen

teardown() {
  kill_tracked
}

setup() {
  for t in gps-reader pps-capture discipline ntp-serve clockadj; do require_cmd "$t"; done
  export TIMEPIPE_BIN=$TIMEPIPE_BUILD/bin
}

# start_receiver: nmea-gen on a pty at $BATS_TEST_TMPDIR/gps0, one epoch a second for 60 s.
# Started 50 ms into a second (--phase: aligned by nmea-gen after its own start-up), each epoch
# names the second it is sent in, as a receiver's does (started late in a second it would name
# the one before, and every pulse would pair with it).
start_receiver() {
  "$NMEA_GEN" --pty "$BATS_TEST_TMPDIR/gps0" --count 60 --interval 1 --phase 0.05 > "$BATS_TEST_TMPDIR/nmea.log" 2>&1 &
  track_pid $!
  local i
  for i in $(seq 50); do [ -e "$BATS_TEST_TMPDIR/gps0" ] && return 0; sleep 0.1; done
  echo "nmea-gen made no pty" >&2; return 1
}

# wait_answer PORT FIELDS...: the fields of a plain NTP answer, once the server is synchronised
# (stratum 1 to 15: an unsynchronised ntp-serve answers stratum 0, leap 3), waiting up to 30 s for the pipeline to lock and the discipline to follow.
wait_answer() {
  local port=$1 i line; shift
  for i in $(seq 60); do
    line=$(ntp_answer_fields "$port" 2)
    if [ "$line" != "no answer" ] && [ "$line" -ge 1 ] && [ "$line" -lt 16 ]; then ntp_answer_fields "$port" "$@"; return 0; fi
    sleep 0.5
  done
  echo "no synchronised answer from port $port (last: $line)" >&2
  return 1
}

@test "timepipe-stratum1 --no-pps: NMEA time served at stratum 1, refid GPS; clockadj only dry-runs" {
  local port
  port=$(free_port)
  start_receiver
  mkdir "$BATS_TEST_TMPDIR/status"
  # its own session: teardown ends the whole pipeline, not only the script
  setsid "$STRATUM1" -g "$BATS_TEST_TMPDIR/gps0" --no-pps --dry-run -o json -l "127.0.0.1:$port" -S "$BATS_TEST_TMPDIR/status" \
    > "$BATS_TEST_TMPDIR/applied.jsonl" 2> "$BATS_TEST_TMPDIR/stratum1.err" &
  track_group $!
  run wait_answer "$port" 1 2 3
  cat "$BATS_TEST_TMPDIR/stratum1.err"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "0 1 71.80.83.0" ]   # leap none, stratum 1, "GPS"
  # the time served is the receiver's: NMEA arrives 50 ms into its second, so the served clock
  # is about 50 ms behind this one, not a second off
  local ms
  ms=$(ntp_answer_fields "$port" 6)
  echo "served offset ${ms} ms"
  [ "${ms#-}" -le 500 ]
  # clockadj was handed the discipline's corrections and applied none of them
  grep -q '"type":"applied"' "$BATS_TEST_TMPDIR/applied.jsonl"
  ! grep -q '"dry_run":false' "$BATS_TEST_TMPDIR/applied.jsonl"
  grep -q 'synchronised to gps://gps0' "$BATS_TEST_TMPDIR/stratum1.err"
  local t   # --status-dir: a status socket per tool (no pps-capture with --no-pps)
  for t in gps-reader discipline ntp-serve clockadj; do [ -S "$BATS_TEST_TMPDIR/status/$t.sock" ]; done
  [ ! -e "$BATS_TEST_TMPDIR/status/pps-capture.sock" ]
}

@test "timepipe-stratum1 with a pulse: PPS samples paired with the receiver's seconds, refid PPS" {
  local port
  port=$(free_port)
  start_receiver
  start_pulses "$BATS_TEST_TMPDIR/pps"
  setsid "$STRATUM1" -g "$BATS_TEST_TMPDIR/gps0" -p "sim:$BATS_TEST_TMPDIR/pps" --dry-run -o json \
    -l "127.0.0.1:$port" > "$BATS_TEST_TMPDIR/applied.jsonl" 2> "$BATS_TEST_TMPDIR/stratum1.err" &
  track_group $!
  run wait_answer "$port" 1 2 3
  cat "$BATS_TEST_TMPDIR/stratum1.err"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "0 1 80.80.83.0" ]   # stratum 1, "PPS"
  grep -q 'synchronised to pps://' "$BATS_TEST_TMPDIR/stratum1.err"
  # each pulse comes 20 us after this clock's second: the time served is this clock's (within
  # 100 ms: what a Python client measures on a loaded machine; the wrong second would be 1 s off)
  local ms
  ms=$(ntp_answer_fields "$port" 6)
  echo "served offset ${ms} ms"
  [ "${ms#-}" -le 100 ]
}

# PID 1 here is not systemd, so the units cannot be started: the test runs their ExecStart lines
# as systemd would ($$ turned into $, /usr/local paths into the build, the FIFOs of clockadj.socket
# and ntp-serve-upstream.socket made here, /dev/gps0 the receiver's pty, /dev/gpspps0 a simulated
# PPS device), with a `clockadj --dry-run` reading the adjust FIFO as clockadj.service does.
@test "timepipe-stratum1.service and ntp-serve-stratum1.service, run as systemd would: stratum 1, refid PPS" {
  local units=$BATS_TEST_DIRNAME/../contrib/systemd port cmd serve
  port=$(free_port)
  start_receiver
  start_pulses "$BATS_TEST_TMPDIR/pps"
  mkfifo "$BATS_TEST_TMPDIR/adjust" "$BATS_TEST_TMPDIR/upstream"
  mkdir "$BATS_TEST_TMPDIR/state" "$BATS_TEST_TMPDIR/unit-run"
  grep -q '^ListenFIFO=/run/timepipe/upstream$' "$units/ntp-serve-upstream.socket"
  grep -q '^ListenFIFO=/run/timepipe/adjust$' "$units/clockadj.socket"
  clockadj --dry-run -o json "$BATS_TEST_TMPDIR/adjust" > "$BATS_TEST_TMPDIR/applied" 2>&1 3>&- &
  track_pid $!
  serve=$(sed -n 's/^ExecStart=//p' "$units/ntp-serve-stratum1.service" |
          sed -e "s#/usr/local/s\\?bin/#$TIMEPIPE_BUILD/bin/#g" -e "s#/run/timepipe/upstream#$BATS_TEST_TMPDIR/upstream#g")
  serve=${serve//%t/$BATS_TEST_TMPDIR/run}
  mkdir -p "$BATS_TEST_TMPDIR/run/timepipe/ntp-serve-stratum1"
  [[ "$serve" == "$TIMEPIPE_BUILD/bin/ntp-serve --upstream $BATS_TEST_TMPDIR/upstream --status-socket $BATS_TEST_TMPDIR/run/timepipe/ntp-serve-stratum1/status.sock \$NTP_SERVE_OPTS" ]]
  NTP_SERVE_OPTS="--listen 127.0.0.1:$port"
  eval "exec ${serve}" 2> "$BATS_TEST_TMPDIR/serve.err" 3>&- &
  track_pid $!
  cmd=$(sed -n 's/^ExecStart=//p' "$units/timepipe-stratum1.service" | sed -e 's/\$\$/$/g' \
        -e "s#/usr/local/s\\?bin/#$TIMEPIPE_BUILD/bin/#g" -e "s#/run/timepipe/#$BATS_TEST_TMPDIR/#g" \
        -e "s#/dev/gps0#$BATS_TEST_TMPDIR/gps0#g" -e "s#/dev/gpspps0#sim:$BATS_TEST_TMPDIR/pps#g")
  [[ "$cmd" == "/bin/sh -c '"*"'" ]]
  cmd=${cmd#/bin/sh -c \'}; cmd=${cmd%\'}
  # its own session, so that teardown ends the whole pipeline (3>&-: not bats' output either)
  GPS_OPTS="" PPS_OPTS="" DISCIPLINE_OPTS="" STATE_DIRECTORY=$BATS_TEST_TMPDIR/state \
    RUNTIME_DIRECTORY=$BATS_TEST_TMPDIR/unit-run setsid /bin/sh -c "$cmd" 2> "$BATS_TEST_TMPDIR/unit.err" 3>&- &
  track_group $!
  run wait_answer "$port" 1 2 3
  cat "$BATS_TEST_TMPDIR/unit.err" "$BATS_TEST_TMPDIR/serve.err"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = "0 1 80.80.83.0" ]   # stratum 1, "PPS"
  local ms
  ms=$(ntp_answer_fields "$port" 6)
  echo "served offset ${ms} ms"
  [ "${ms#-}" -le 100 ]
  grep -q '"type":"applied".*"dry_run":true' "$BATS_TEST_TMPDIR/applied"
  # a status socket per tool of the pipeline, and ntp-serve's, where the units put them
  local s
  for s in unit-run/gps-reader.sock unit-run/pps-capture.sock unit-run/discipline.sock \
           run/timepipe/ntp-serve-stratum1/status.sock; do
    [ -S "$BATS_TEST_TMPDIR/$s" ] || { echo "no status socket $s" >&2; false; }
  done
}

@test "timepipe-stratum1: no receiver is a usage error; a missing tool is named" {
  run "$STRATUM1" --no-pps
  [ "$status" -eq 64 ]
  [ "$output" = "timepipe-stratum1: no receiver given (-g /dev/gps0)" ]
  run "$STRATUM1" -g /dev/null --bogus
  [ "$status" -eq 64 ]
  [[ "$output" == "timepipe-stratum1: --bogus: unknown argument"* ]]
  TIMEPIPE_BIN=$BATS_TEST_TMPDIR/nowhere run "$STRATUM1" -g /dev/null
  [ "$status" -eq 69 ]
  [ "$output" = "timepipe-stratum1: gps-reader: not found" ]
  run "$STRATUM1" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"gps-reader | pps-capture | discipline"* ]]
}
