#!/usr/bin/env bats
# THE ONE TEST THAT CHANGES THIS MACHINE'S CLOCK, and only its rate: it saves the kernel's
# frequency, status and tick with adjtimex(2) (read-only query), has clockadj set +1 ppm relative
# to the saved frequency and slew 1 ms (a temporary +1 ppm over 1000 s), reads both back, plays
# another program changing the frequency (clockadj must notice: "clock interference"), then slews
# 1 ms fast (625 ppm over 1.6 s: the kernel's tick carries what ADJ_FREQUENCY's 500 ppm cannot),
# and restores exactly what it saved in teardown, which always runs. It never steps the clock.

load common
load 701-clockadj-lib

setup() {
  [ "$(id -u)" -eq 0 ] || skip "needs root with CAP_SYS_TIME: changes the real clock's frequency (then restores it)"
  local capeff
  capeff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
  (( (16#$capeff >> 25) & 1 )) || skip "needs CAP_SYS_TIME (capability 25) in the effective set"
  # make check runs the plain and sanitized suites side by side: one copy of this test at a
  # time, or one would save (and restore) what the other set. Held until the test's shell exits.
  exec {real_clock_lock}> /tmp/timepipe-real-clock.lock
  flock -w 600 "$real_clock_lock"
  kernel_timex get > "$BATS_TEST_TMPDIR/saved"
}

teardown() {
  kill_tracked
  if [ -s "$BATS_TEST_TMPDIR/saved" ]; then
    read -r freq status tick < "$BATS_TEST_TMPDIR/saved"
    kernel_timex set "$freq" "$status" "$tick"
    [ "$(kernel_timex get)" = "$freq $status $tick" ] || echo "teardown: the clock's frequency/status/tick were not restored" >&2
  fi
}

STA_PLL=1

@test "clockadj sets the frequency (+1 ppm) and slews 1 ms on the real clock, notices interference, leaves the frequency at exit" {
  read -r f0 s0 t0 < "$BATS_TEST_TMPDIR/saved"
  local target
  target=$(/usr/bin/python3 -c "print(repr(($f0 + 65536) / 65536))")
  mkfifo "$BATS_TEST_TMPDIR/adjust"
  clockadj -v -o json "$BATS_TEST_TMPDIR/adjust" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
  local pid=$!
  track_pid "$pid"
  local rec="{'v': 1, 'type': 'adjust', 'source': 'ntp://192.0.2.1:123', 'time': 0, 'frequency': $target"
  cbor "$rec, 'slew': 0.001, 'slew_duration': 1000}" > "$BATS_TEST_TMPDIR/adjust"
  wait_lines "$BATS_TEST_TMPDIR/out" 1
  [[ "$(sed -n 1p "$BATS_TEST_TMPDIR/out")" == *'"dry_run":false,"frequency":'*',"slew":0.001,"slew_duration":1000.0}' ]]
  read -r f1 s1 t1 <<< "$(kernel_timex get)"
  [ "$f1" -eq $((f0 + 2 * 65536)) ]      # +1 ppm base, +1 ppm slewing 1 ms over 1000 s
  [ $((s1 & STA_PLL)) -eq 0 ]            # kernel PLL off

  kernel_timex set $((f1 + 3 * 65536)) "$s1" "$t1"   # another program changes the frequency
  # a record with nothing to change (no frequency, slew or step) lets the slew run on
  cbor "{'v': 1, 'type': 'adjust', 'source': 'ntp://192.0.2.1:123', 'time': 0}" > "$BATS_TEST_TMPDIR/adjust"
  wait_lines "$BATS_TEST_TMPDIR/out" 2
  [[ "$(sed -n 2p "$BATS_TEST_TMPDIR/out")" == *'"interference":true}' ]]
  grep -q '^clockadj: CLOCK_REALTIME: clock interference: frequency changed from .* to .* ppm by another program$' "$BATS_TEST_TMPDIR/err"
  read -r f2 s2 t2 <<< "$(kernel_timex get)"
  [ "$f2" -eq $((f0 + 2 * 65536)) ]      # re-asserted, the slew still running

  kill -TERM "$pid"
  wait "$pid"
  read -r f3 s3 t3 <<< "$(kernel_timex get)"
  [ "$f3" -eq $((f0 + 65536)) ]          # at exit: the slew's rest dropped, the frequency left
  grep -q 'left undone at exit' "$BATS_TEST_TMPDIR/err"
  [ "$(grep -c 'clock interference' "$BATS_TEST_TMPDIR/err")" -eq 1 ]
}

@test "clockadj slews 1 ms at 625 ppm on the real clock through the kernel's tick, and gives the tick back" {
  read -r f0 s0 t0 < "$BATS_TEST_TMPDIR/saved"
  local hz nominal
  hz=$(getconf CLK_TCK)
  nominal=$(( (1000000 + hz / 2) / hz ))
  # the slew goes the way the frequency already leans, so base + slew passes 500 ppm whatever it is
  local sign=1; [ "$f0" -lt 0 ] && sign=-1
  local target expected
  target=$(/usr/bin/python3 -c "print(repr(($f0 + 65536) / 65536))")
  expected=$(/usr/bin/python3 -c "
import math
total = $target + $sign * 0.001 / 1.6 * 1e6          # ppm: base + slew
delta = math.copysign(math.ceil((abs(total) - 500) / $hz), total)
print(round((total - delta * $hz) * 65536), $nominal + int(delta))")
  kernel_timex set "$f0" "$s0" "$nominal"   # the watcher looks for the tick leaving nominal
  mkfifo "$BATS_TEST_TMPDIR/adjust"
  clockadj -vv -o json "$BATS_TEST_TMPDIR/adjust" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
  local pid=$!
  track_pid "$pid"
  kernel_timex watch "$nominal" > "$BATS_TEST_TMPDIR/watch" &
  local watcher=$!
  track_pid "$watcher"
  wait_lines "$BATS_TEST_TMPDIR/watch" 1
  cbor "{'v': 1, 'type': 'adjust', 'source': 'ntp://192.0.2.1:123', 'time': 0, 'frequency': $target, 'slew': $sign * 0.001, 'slew_duration': 1.6}" > "$BATS_TEST_TMPDIR/adjust"
  wait "$watcher"
  cat "$BATS_TEST_TMPDIR/watch" "$BATS_TEST_TMPDIR/err" >&2
  local seen back
  seen=$(sed -n 2p "$BATS_TEST_TMPDIR/watch")
  back=$(sed -n 3p "$BATS_TEST_TMPDIR/watch")
  read -r fs ts <<< "$seen"
  read -r -a want <<< "$expected"
  [ "$ts" -eq "${want[1]}" ]                          # the tick carried the part beyond 500 ppm
  [ $((fs - want[0])) -le 1 ] && [ $((want[0] - fs)) -le 1 ]   # the rest in ADJ_FREQUENCY
  [ "$back" = "$((f0 + 65536)) $nominal" ]            # at the slew's end: the base, tick nominal
  wait_lines "$BATS_TEST_TMPDIR/out" 2
  [[ "$(sed -n 1p "$BATS_TEST_TMPDIR/out")" == *'"slew_duration":1.6}' ]]   # as asked, not stretched
  grep -q "ADJ_TICK tick ${want[1]} " "$BATS_TEST_TMPDIR/err"
  kill -TERM "$pid"
  wait "$pid"
  read -r f3 s3 t3 <<< "$(kernel_timex get)"
  [ "$f3" -eq $((f0 + 65536)) ] && [ "$t3" -eq "$nominal" ]
}
