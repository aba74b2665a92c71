#!/usr/bin/env bats
# gps-reader on a pseudo-terminal as on a serial port: --speed and raw 8N1 as stty sees them,
# live receive times (offsets under a second against a generator naming the current second),
# -n and -x, and the end of input when the writer goes.
bats_require_minimum_version 1.5.0
load common
load 800-gps-lib

setup() {
  require_cmd gps-reader
}

@test "pty: gps-reader sets --speed, raw 8N1, no flow control; live samples from the receiver's seconds" {
  local d=$BATS_TEST_TMPDIR i
  "$NMEA_GEN" --pty "$d/tty" --wait-for "$d/go" --interval 1 --count 6 --hold 2 &
  track_pid $!
  wait_file "$d/tty"
  gps-reader --device "$d/tty" --speed 4800 -o json -n 2 --lock 2 --not-before 2020-01-01 >"$d/out" 2>"$d/err" &
  local reader=$!
  track_pid "$reader"
  for i in $(seq 100); do
    stty -F "$d/tty" 2>/dev/null | grep -q 'speed 4800 baud' && break
    sleep 0.1
  done
  run stty -F "$d/tty" -a
  echo "$output"
  output=" $(echo $output) "  # one line of words: flags start lines too
  [[ "$output" == *"speed 4800 baud"* ]]
  [[ "$output" == *" cs8 "* ]]
  [[ "$output" == *" -parenb "* ]]
  [[ "$output" == *" -cstopb "* ]]
  [[ "$output" == *" -crtscts "* ]]
  [[ "$output" == *" -ixon "* ]]
  [[ "$output" == *" -icanon "* ]]
  [[ "$output" == *" -echo "* ]]
  [[ "$output" == *" clocal "* ]]
  touch "$d/go"
  wait "$reader"
  cat "$d/out" "$d/err"
  [ ! -s "$d/err" ]
  [ "$(grep -c '"type":"sample"' "$d/out")" -eq 2 ]
  grep -q '"source":"gps://tty"' "$d/out"
  # live stamps: the generator names the second it writes in, so |offset| < 1 s, and time + offset
  # is that whole second
  /usr/bin/python3 - "$d/out" <<'PY'
import json, sys
fixes = {}
for o in map(json.loads, open(sys.argv[1])):
    if o["type"] == "gps_fix":
        fixes[o["time"]] = o
    if o["type"] == "sample":
        assert abs(o["offset"]) < 1.0, o
        named = o["time"] + round(o["offset"] * 1e9)
        assert abs(named % 10**9) < 10**6 or abs(named % 10**9 - 10**9) < 10**6, o
        assert fixes[o["time"]]["valid"]
PY
}

@test "pty: -x stops a reader that gets nothing, with its stats; the writer closing ends the input" {
  local d=$BATS_TEST_TMPDIR
  "$NMEA_GEN" --pty "$d/tty" --wait-for "$d/never" --count 0 --hold 0 &
  track_pid $!
  wait_file "$d/tty"
  run --separate-stderr gps-reader --device "$d/tty" -x 0.5 -o json
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
  [[ "$output" == *'"type":"stats"'*'"source":"gps://tty"'* ]]
  # SIGTERM: a clean end, status 0, the stats written (the speed change says it is running)
  local i st=0
  stty -F "$d/tty" 4800
  gps-reader --device "$d/tty" -o json >"$d/term" &
  local term=$!
  track_pid "$term"
  for i in $(seq 100); do
    stty -F "$d/tty" 2>/dev/null | grep -q 'speed 9600 baud' && break
    sleep 0.1
  done
  kill -TERM "$term"
  wait "$term" || st=$?
  [ "$st" -eq 0 ]
  grep -q '"type":"stats"' "$d/term"
  # a generator that writes 3 epochs and goes: gps-reader reads them and ends on its own
  "$NMEA_GEN" --pty "$d/tty2" --wait-for "$d/go2" --interval 0.05 --count 3 --hold 0.5 &
  track_pid $!
  wait_file "$d/tty2"
  gps-reader --device "$d/tty2" -o json --min-sats 0 >"$d/out2" &
  local reader=$!
  track_pid "$reader"
  sleep 0.3
  touch "$d/go2"
  wait "$reader"
  [ "$(grep -c '"type":"gps_fix"' "$d/out2")" -eq 3 ]
  tail -1 "$d/out2" | grep -q '"type":"stats"'
}

@test "FIFO and pipe: live stamps from a pipe, the end of input ends the reader" {
  local d=$BATS_TEST_TMPDIR
  run --separate-stderr bash -c "'$NMEA_GEN' --count 4 --start 2026-03-01T12:00:00 | gps-reader -o json --not-before 2020-01-01"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"source":"gps://stdin"'* ]]
  # all four seconds arrived in one burst: the second is refused as a jump (the receiver named
  # one second more while the local clock moved less than --max-jump), nothing is accepted silently
  [[ "$output" == *'jump of +'* ]]
  mkfifo "$d/fifo"
  "$NMEA_GEN" --count 3 --start 2026-03-01T12:00:00 >"$d/fifo" &
  track_pid $!
  run --separate-stderr gps-reader --device "$d/fifo" -o json --not-before 2020-01-01 --replay
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "$output" | grep -c '"valid":true')" -eq 3 ]
}
