#!/usr/bin/env bats
# pps-capture(1) with gps-reader(1) as its coarse source, as a stratum-1 pipeline runs them:
# NMEA from tests/helpers/nmea-gen read by gps-reader, replayed from a file and live through a
# pseudo-terminal, with a simulated PPS device (a file, and a FIFO fed at each whole second).
bats_require_minimum_version 1.5.0
load common
load 840-pps-lib
load 800-gps-lib

setup() {
  require_cmd pps-capture
  require_cmd gps-reader
  require_cmd timecat
}

@test "pps-capture pairs edges with gps-reader's seconds from a replayed NMEA log, to the ns" {
  "$NMEA_GEN" --start 2026-12-05T10:00:00 --count 10 > "$BATS_TEST_TMPDIR/gps.nmea"
  gps-reader -d "$BATS_TEST_TMPDIR/gps.nmea" -o cbor > "$BATS_TEST_TMPDIR/coarse.cbor"
  # an edge 1-9 us after each second gps-reader named (the local clock that far ahead), and
  # one for a second it did not name because its lock was not yet made
  timecat -o json < "$BATS_TEST_TMPDIR/coarse.cbor" | /usr/bin/python3 -c '
import json, sys
seconds = [round(r["time"] / 1e9 + r["offset"]) for r in map(json.loads, sys.stdin) if r["type"] == "sample"]
assert len(seconds) >= 5, seconds
first = seconds[0] - 3
for i, s in enumerate([first] + seconds):
    print("%d %d.%09d 0 0" % (i + 1, s, 1000 * (1 + i % 9)))
' > "$BATS_TEST_TMPDIR/edges"
  pps_json -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 0 ]
  n=$(grep -c '"type":"sample"' <<< "$(timecat -o json < "$BATS_TEST_TMPDIR/coarse.cbor")")
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | wc -l)" -eq "$n" ]
  # offset = -(edge's phase) for every paired pulse
  samples_of "$BATS_TEST_TMPDIR/out.json" | /usr/bin/python3 -c '
import sys
for line in sys.stdin:
    t, off = map(int, line.split())
    assert off == -(t % 10**9), line
'
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" no_second)" -eq 1 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" coarse)" -eq "$n" ]
}

@test "pps-capture live: gps-reader on a pty and a PPS FIFO at each whole second of the local clock" {
  start_pulses "$BATS_TEST_TMPDIR/pps"
  # nmea-gen names the second it started in, then one more per epoch: started 50 ms into a
  # second (--phase: aligned by nmea-gen itself, after its start-up, which on a loaded machine
  # took over a second), each sentence names the second it is sent in, as a receiver's does.
  # Started late in a second it would name each second up to a second late, and pps-capture,
  # which cannot tell, would pair every pulse with the second before (too_far: see CAVEATS in
  # pps-capture(1)).
  "$NMEA_GEN" --pty "$BATS_TEST_TMPDIR/gps0" --count 30 --interval 1 --phase 0.05 > "$BATS_TEST_TMPDIR/nmea.log" 2>&1 &
  track_pid $!
  wait_file "$BATS_TEST_TMPDIR/gps0"
  run --separate-stderr timeout 25 sh -c "gps-reader -d '$BATS_TEST_TMPDIR/gps0' -o cbor |
    pps-capture -d sim:'$BATS_TEST_TMPDIR/pps' -n 3 -o json"
  printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/out.json"
  [ "$status" -eq 0 ] || { echo "status $status: $stderr"; cat "$BATS_TEST_TMPDIR/out.json" "$BATS_TEST_TMPDIR/nmea.log"; false; }
  # each sample: the pulse 20 us after its second, so the offset is exactly -20 us
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | wc -l)" -eq 3 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | cut -d' ' -f2 | sort -u)" = "-20000" ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | cut -d' ' -f1 | sed 's/.*\(.........\)$/\1/' | sort -u)" = "000020000" ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" samples)" -eq 3 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" too_far)" -eq 0 ]
}
