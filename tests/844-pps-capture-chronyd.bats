#!/usr/bin/env bats
# pps-capture(1)'s samples as a real peer reads them: pps-capture | shm-export --sock into
# chronyd's `refclock SOCK` (chronyd 4.3 with -x, its own config, sockets and logs in the test's
# directory). The pulses come from a simulated device fed through a FIFO at each whole second of
# the local clock, 20 us late; chronyd must log each sample at its pulse's time with that offset,
# and chronyc must show the local clock 20 us fast of the PPS source (its sign convention).
bats_require_minimum_version 1.5.0
load common
load 840-pps-lib

setup() {
  for t in pps-capture shm-export chronyd chronyc; do require_cmd "$t"; done
}

@test "chronyd's refclock SOCK takes pps-capture's samples: the pulse's time, offset -20 us" {
  CHRONY_DIR=$(mktemp -d "$BATS_TEST_TMPDIR/chrony.XXXX")
  chmod 0700 "$CHRONY_DIR"   # chronyd disables a command socket in a directory others can read
  cat > "$CHRONY_DIR/chrony.conf" <<CONF
refclock SOCK $CHRONY_DIR/pps.sock refid PPS poll 0 filter 2
port 0
bindcmdaddress $CHRONY_DIR/chronyd.sock
pidfile $CHRONY_DIR/chronyd.pid
driftfile $CHRONY_DIR/drift
logdir $CHRONY_DIR
log refclocks
CONF
  chronyd -x -d -u root -f "$CHRONY_DIR/chrony.conf" > "$CHRONY_DIR/log" 2>&1 &
  track_pid $!
  wait_path "$CHRONY_DIR/pps.sock"
  start_pulses "$BATS_TEST_TMPDIR/pps"
  run --separate-stderr timeout 25 sh -c "pps-capture -d sim:'$BATS_TEST_TMPDIR/pps' --second-from-clock -n 6 -o cbor |
    shm-export --sock '$CHRONY_DIR/pps.sock'"
  echo "$stderr"
  [ "$status" -eq 0 ]
  sleep 0.5   # chronyd's last datagram
  cat "$CHRONY_DIR/refclocks.log"
  # chronyd's raw samples (the lines with a DP of 0): at .000020 of a second, raw offset -20 us
  raw=$(awk '$4 == "0" { print $2, $7 }' "$CHRONY_DIR/refclocks.log")
  [ "$(wc -l <<< "$raw")" -ge 5 ]
  [ "$(cut -d' ' -f1 <<< "$raw" | sed 's/.*\.//' | sort -u)" = "000020" ]
  [ "$(cut -d' ' -f2 <<< "$raw" | sort -u)" = "-2.000000e-05" ]
  # chronyc: the PPS source's last sample, as measured: the local clock 20 us fast of it
  run chronyc -h "$CHRONY_DIR/chronyd.sock" -n -c sources
  echo "$output"
  [ "$status" -eq 0 ]
  line=$(grep ',PPS,' <<< "$output")
  [ "$(cut -d, -f9 <<< "$line")" = "0.000020000" ]
}
