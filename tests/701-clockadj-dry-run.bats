#!/usr/bin/env bats
# clockadj --dry-run on every record kind and field, hostile records refused, the input
# channels (stdin, a FIFO across writers, systemd's LISTEN_FDS). Nothing here changes a clock:
# --dry-run never calls clock_adjtime with a mode, and the one run without it has no privilege.

load common
load 701-clockadj-lib

adj() {  # adj 'extra python dict items': an adjust record as Python literal text
  echo "{'v': 1, 'type': 'adjust', 'source': 'ntp://192.0.2.1:123', 'time': ${T:-1700000000000000000}$1}"
}

@test "--help prints usage and exits 0; a bad option is EX_USAGE with one line" {
  run clockadj --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"--dry-run"* ]]
  [[ "$output" == *"--max-step"* ]]
  run clockadj --bogus
  [ "$status" -eq 64 ]
  [ "${#lines[@]}" -eq 1 ]
  run clockadj --max-step nonsense -n
  [ "$status" -eq 64 ]
  [[ "$output" == "clockadj: --max-step: bad duration"* ]]
}

@test "frequency only: applied with the frequency, dry_run true, the kernel value in 2^-16 ppm" {
  run bash -c "$(declare -f cbor); cbor \"$(adj ", 'frequency': -12.5")\" | clockadj -n -v -v -o json"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"type":"applied","source":"CLOCK_REALTIME"'* ]]
  [[ "$output" == *'"dry_run":true,"frequency":-12.5}'* ]]
  [[ "$output" == *"would clock_adjtime ADJ_FREQUENCY freq -819200"* ]]
}

@test "slew with a duration: a temporary frequency slew/duration on top of the frequency" {
  run bash -c "$(declare -f cbor); cbor \"$(adj ", 'frequency': 10, 'slew': 0.001, 'slew_duration': 100")\" | clockadj -n -vv -o json"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"frequency":10.0,"slew":0.001,"slew_duration":100.0}'* ]]
  [[ "$output" == *"ADJ_FREQUENCY freq 1310720"* ]]   # 20 ppm
  # EOF before the slew's end: the rest is dropped, back to the base frequency
  [[ "$output" == *"ADJ_FREQUENCY freq 655360"* ]]
  [[ "$output" == *"left undone at exit"* ]]
}

@test "a slew beyond 500 ppm runs as asked through ADJ_TICK, up to 10 %; without a tick (PTP) it is stretched" {
  local hz
  hz=$(getconf CLK_TCK)
  [ "$hz" -eq 100 ] || skip "the figures below assume USER_HZ 100 (here $hz)"
  run bash -c "$(declare -f cbor); cbor \"$(adj ", 'frequency': 10, 'slew': 0.5, 'slew_duration': 6")\" | clockadj -n -vv -o json"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"slew":0.5,"slew_duration":6.0}'* ]]       # 83 333 ppm, not stretched
  [[ "$output" == *"would clock_adjtime ADJ_FREQUENCY freq 29054293 ADJ_TICK tick 10829"* ]]  # 443.33 ppm + 829 us
  [[ "$output" == *"would clock_adjtime ADJ_FREQUENCY freq 655360 ADJ_TICK tick 10000"* ]]    # back to 10 ppm at exit
  run bash -c "$(declare -f cbor); cbor \"$(adj ", 'frequency': 0, 'slew': -1, 'slew_duration': 1")\" | clockadj -n -vv -o json"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"slew":-1.0,"slew_duration":10.0}'* ]]     # -10 %: stretched to 10 s
  [[ "$output" == *"ADJ_FREQUENCY freq -32768000 ADJ_TICK tick 9005"* ]]
  run bash -c "$(declare -f cbor); cbor \"$(adj ", 'frequency': 10, 'slew': 0.5, 'slew_duration': 6")\" | clockadj -n -vv -o json --clock /dev/ptp9"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"slew":0.5,"slew_duration":1020.40'* ]]    # 490 ppm left over 10: stretched
  [[ "$output" == *"would clock_adjtime ADJ_FREQUENCY freq 32768000"* ]]
  [[ "$output" != *"ADJ_TICK"* ]]
}

@test "slew without a duration runs at the room left to 500 ppm" {
  run bash -c "$(declare -f cbor); cbor \"$(adj ", 'frequency': 100, 'slew': -0.5")\" | clockadj -n -vv -o json"
  [ "$status" -eq 0 ]
  [[ "$output" == *"ADJ_FREQUENCY freq -32768000"* ]]  # -500 ppm
  [[ "$output" == *'"slew":-0.5,"slew_duration":833.33'* ]]
}

@test "a negative step is encoded tv_sec -1, tv_nsec 700000000, and cancels a slew" {
  run bash -c "$(declare -f cbor); cbor \"$(adj ", 'slew': 0.01")\" \"$(adj ", 'step': -0.3, 'reason': 'start'")\" | clockadj -n -vv -o json"
  [ "$status" -eq 0 ]
  [[ "$output" == *"would clock_adjtime ADJ_SETOFFSET|ADJ_NANO tv_sec -1 tv_nsec 700000000"* ]]
  [[ "$output" == *'"step":-0.3}'* ]]
  [[ "$output" == *"slew: cancelled by a step"* ]]
}

@test "leap: armed on its day, not on another day" {
  T=$(now_ns)
  run bash -c "$(declare -f cbor); cbor \"$(T=$T adj ", 'leap': 1")\" \"$(T=$T adj ", 'leap': 2")\" \"$(T=$T adj "")\" | clockadj -n -o json"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 3 ]
  [[ "${lines[0]}" == *'"leap":1}' ]]
  [[ "${lines[1]}" == *'"leap":2}' ]]
  [[ "${lines[2]}" == *'"leap":0}' ]]
  run bash -c "$(declare -f cbor); cbor \"$(T=1700000000000000000 adj ", 'leap': 1")\" | clockadj -n -v -o json"
  [ "$status" -eq 0 ]
  [[ "$output" == *"not the clock's day, not armed"* ]]
  [[ "$output" == *'"leap":0}'* ]]
}

@test "poll only, and a bare adjust record: the frequency stays (0 in a dry run)" {
  run bash -c "$(declare -f cbor); cbor \"$(adj ", 'poll': 6")\" \"$(adj "")\" | clockadj -n -o json"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  [[ "${lines[0]}" == *'"frequency":0.0}' ]]
}

@test "text output names the clock, the change and the dry run" {
  run bash -c "$(declare -f cbor); cbor \"$(adj ", 'frequency': 1.5, 'step': 2, 'reason': 'r'")\" | clockadj -n -o text"
  [ "$status" -eq 0 ]
  [ "$output" = "CLOCK_REALTIME step +2.000000000 s frequency +1.500000 ppm (dry run)" ]
}

@test "tracking, refusal and sample records are skipped without a word" {
  run bash -c "$(declare -f cbor); cbor \"{'v': 1, 'type': 'tracking', 'source': 'local', 'time': 0}\" \"{'v': 1, 'type': 'refusal', 'source': 'discipline', 'time': 0, 'reason': 'x'}\" \"$(adj ", 'frequency': 1")\" | clockadj -n -o json"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
}

@test "a step beyond --max-step is refused with one line and never applied; the rest is" {
  run bash -c "$(declare -f cbor); cbor \"$(adj ", 'step': 1000.5, 'reason': 'r'")\" \"$(adj ", 'frequency': 2")\" | clockadj -n -o json"
  [ "$status" -eq 65 ]
  [[ "$output" == *'clockadj: stdin: record 1 refused: adjust: "step": 1000.5 s is beyond --max-step 1000 s'* ]]
  [[ "$output" == *'"frequency":2.0}'* ]]
  ! grep -q '"type":"applied".*"step"' <<< "$output"
  [[ "$output" == *"clockadj: stdin: 1 of 2 records refused"* ]]
  run bash -c "$(declare -f cbor); cbor \"$(adj ", 'step': 3, 'reason': 'r'")\" | clockadj -n --max-step 2s -o json"
  [ "$status" -eq 65 ]
  [[ "$output" == *'"step": 3 s is beyond --max-step 2 s'* ]]
  [[ "$output" != *'"type":"applied"'* ]]
}

@test "hostile records: out of range, wrong types, unknown type, step without reason" {
  for bad in ", 'step': 2e9, 'reason': 'r'" ", 'frequency': 501" ", 'frequency': '12'" ", 'slew': 1001" \
             ", 'slew': True" ", 'leap': 3" ", 'step': 1" ", 'slew_duration': 5" ", 'slew': 1, 'slew_duration': -1" \
             ", 'source': 7"; do
    run bash -c "$(declare -f cbor); cbor \"$(adj "$bad")\" | clockadj -n -o json"
    [ "$status" -eq 65 ]
    [[ "$output" == "clockadj: stdin: record 1 refused: adjust: "* ]]
    [[ "$output" != *'"type":"applied"'* ]]
  done
  run bash -c "$(declare -f cbor); cbor \"{'v': 1, 'type': 'setclock', 'source': 'x', 'time': 0}\" | clockadj -n -o json"
  [ "$status" -eq 65 ]
  [[ "$output" == *'record 1 refused: type "setclock": not an adjust record'* ]]
}

@test "NaN, infinity and \"v\": 2 end the stream with EX_DATAERR; nothing after is applied" {
  for bad in "$(adj ", 'frequency': nan")" "$(adj ", 'step': inf, 'reason': 'r'")" \
             "{'v': 2, 'type': 'adjust', 'source': 'x', 'time': 0, 'frequency': 1}"; do
    run bash -c "$(declare -f cbor); cbor \"$bad\" \"$(adj ", 'frequency': 3")\" | clockadj -n -o json"
    [ "$status" -eq 65 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "clockadj: stdin: byte "*": "* ]]
  done
  run bash -c "printf 'not cbor' | clockadj -n -o json"
  [ "$status" -eq 65 ]
}

@test "a FIFO given as argument is read across writers (clockadj holds it open)" {
  mkfifo "$BATS_TEST_TMPDIR/adjust"
  clockadj -n -o json "$BATS_TEST_TMPDIR/adjust" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
  local pid=$!
  track_pid "$pid"
  cbor "$(adj ", 'frequency': 1")" > "$BATS_TEST_TMPDIR/adjust"
  cbor "$(adj ", 'frequency': 2")" > "$BATS_TEST_TMPDIR/adjust"
  wait_lines "$BATS_TEST_TMPDIR/out" 2
  kill -TERM "$pid"
  wait "$pid"
  [[ "$(sed -n 2p "$BATS_TEST_TMPDIR/out")" == *'"frequency":2.0}' ]]
}

@test "systemd's FIFO: LISTEN_PID and LISTEN_FDS=1 make fd 3 the input" {
  mkfifo "$BATS_TEST_TMPDIR/adjust"
  bash -c 'export LISTEN_PID=$$ LISTEN_FDS=1; exec clockadj -n -o json' 3<> "$BATS_TEST_TMPDIR/adjust" \
    > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
  local pid=$!
  track_pid "$pid"
  cbor "$(adj ", 'frequency': 4")" > "$BATS_TEST_TMPDIR/adjust"
  wait_lines "$BATS_TEST_TMPDIR/out" 1
  kill -TERM "$pid"
  wait "$pid"
  [[ "$(cat "$BATS_TEST_TMPDIR/out")" == *'"frequency":4.0}' ]]
}

@test "--dry-run needs no privilege; without it and without CAP_SYS_TIME: EX_NOPERM, one line" {
  [ "$(id -u)" -eq 0 ] || skip "needs root to drop to nobody (setpriv)"
  local rec
  rec=$(adj ", 'frequency': 1")
  cbor "$rec" > "$BATS_TEST_TMPDIR/rec.cbor"
  chmod 0644 "$BATS_TEST_TMPDIR/rec.cbor"
  local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all)
  run "${nobody[@]}" "$TIMEPIPE_BUILD/bin/clockadj" -n -o json < "$BATS_TEST_TMPDIR/rec.cbor"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"dry_run":true'* ]]
  run "${nobody[@]}" "$TIMEPIPE_BUILD/bin/clockadj" -o json < "$BATS_TEST_TMPDIR/rec.cbor"
  [ "$status" -eq 77 ]
  [ "$output" = "clockadj: CLOCK_REALTIME: clock_adjtime: Operation not permitted (needs CAP_SYS_TIME)" ]
}

@test "--show reads the clock without privilege; a missing PTP device is EX_NOINPUT" {
  run clockadj --show
  [ "$status" -eq 0 ]
  [[ "$output" == "CLOCK_REALTIME frequency "*" ppm freq "*" tick "*" status 0x"* ]]
  run clockadj --show --clock /nonexistent/ptp9
  [ "$status" -eq 66 ]
  [ "$output" = "clockadj: /nonexistent/ptp9: No such file or directory" ]
}
