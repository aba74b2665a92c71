#!/usr/bin/env bats
# pps-capture(1): options, the Linux device's errors without hardware (missing, not a PPS device),
# a simulated device's bad lines and capabilities, bad sample streams; one line each, sysexits.
bats_require_minimum_version 1.5.0
load common
load 840-pps-lib

setup() {
  require_cmd pps-capture
  require_cmd timecat
}

@test "pps-capture -h, -V" {
  run --separate-stderr pps-capture -h
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
  [[ "$output" == *"--second-from-clock"* ]]
  run --separate-stderr pps-capture -V
  [ "$status" -eq 0 ]
  [[ "$output" == "pps-capture "* ]]
}

@test "pps-capture: bad options are one line, EX_USAGE" {
  run --separate-stderr pps-capture --bogus
  [ "$status" -eq 64 ]
  [ "$stderr" = "pps-capture: --bogus: unknown option (see -h)" ]
  run --separate-stderr pps-capture --edge both
  [ "$status" -eq 64 ]
  [ "$stderr" = 'pps-capture: --edge: "both" is not assert or clear' ]
  run --separate-stderr pps-capture --max-distance 0.5
  [ "$status" -eq 64 ]
  [ "$stderr" = "pps-capture: --max-distance: 0.5 is not below 0.5 s" ]
  run --separate-stderr pps-capture -t soon
  [ "$status" -eq 64 ]
  [[ "$stderr" == "pps-capture: -t: bad duration \"soon\": "* ]]
  run --separate-stderr pps-capture -n 0
  [ "$status" -eq 64 ]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
  run --separate-stderr pps-capture --offset 1d
  [ "$status" -eq 64 ]
  [[ "$stderr" == "pps-capture: --offset: "* ]]
  run --separate-stderr pps-capture extra
  [ "$status" -eq 64 ]
  [ "$stderr" = "pps-capture: extra: unexpected argument (see -h)" ]
}

@test "pps-capture: a missing /dev/pps0 is one line, EX_NOINPUT" {
  if [ ! -e /dev/pps0 ]; then   # the default device, on a machine without one (as the test machines)
    run --separate-stderr pps-capture -o json < /dev/null
    [ "$status" -eq 66 ]
    [ "$stderr" = "pps-capture: /dev/pps0: No such file or directory" ]
    [ -z "$output" ]
  fi
  run --separate-stderr pps-capture -d /dev/pps-timepipe-missing -o json < /dev/null
  [ "$status" -eq 66 ]
  [ "$stderr" = "pps-capture: /dev/pps-timepipe-missing: No such file or directory" ]
  [ -z "$output" ]
}

@test "pps-capture: a device that is no PPS device is refused, EX_UNAVAILABLE" {
  run --separate-stderr pps-capture -d /dev/null -o json < /dev/null
  [ "$status" -eq 69 ]
  [ "$stderr" = "pps-capture: /dev/null: not a PPS device: PPS_GETCAP: Inappropriate ioctl for device" ]
  : > "$BATS_TEST_TMPDIR/plain"
  run --separate-stderr pps-capture -d "$BATS_TEST_TMPDIR/plain" -o json < /dev/null
  [ "$status" -eq 69 ]
  [[ "$stderr" == *"/plain: not a PPS device: PPS_GETCAP: Inappropriate ioctl for device" ]]
}

@test "pps-capture: a missing simulation file is EX_NOINPUT" {
  run --separate-stderr pps-capture -d sim:"$BATS_TEST_TMPDIR/none" -o json < /dev/null
  [ "$status" -eq 66 ]
  [ "$stderr" = "pps-capture: $BATS_TEST_TMPDIR/none: No such file or directory" ]
}

@test "pps-capture: a bad simulation line is one line naming it, EX_DATAERR, after what came before" {
  { edge_line 1 0 1000; edge_line 2 1 1000; echo "3 1700000002.x 0 0"; edge_line 4 3 1000; } > "$BATS_TEST_TMPDIR/edges"
  coarse_samples 0 3 > "$BATS_TEST_TMPDIR/coarse.cbor"
  pps_json -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 65 ]
  [ "$stderr" = "pps-capture: $BATS_TEST_TMPDIR/edges: line 3: bad assert time \"1700000002.x\": not seconds.fraction" ]
  # the first pulse was decided (the coarse second after it had come) and written before the error
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json")" = "$(printf '%s\n' "1700000000000001000 -1000" "1700000001000001000 -1000")" ]
}

@test "pps-capture: a device that cannot capture the edge asked for is refused, EX_UNAVAILABLE" {
  { echo "caps assert,canwait,tspec"; edge_line 1 0 0; } > "$BATS_TEST_TMPDIR/edges"
  run --separate-stderr pps-capture -d sim:"$BATS_TEST_TMPDIR/edges" --edge clear -o json < /dev/null
  [ "$status" -eq 69 ]
  [ "$stderr" = "pps-capture: $BATS_TEST_TMPDIR/edges: cannot capture the clear edge (assert,canwait,tspec)" ]
  { echo "caps assert,clear,tspec"; edge_line 1 0 0; } > "$BATS_TEST_TMPDIR/edges"
  run --separate-stderr pps-capture -d sim:"$BATS_TEST_TMPDIR/edges" -o json < /dev/null
  [ "$status" -eq 69 ]
  [ "$stderr" = "pps-capture: $BATS_TEST_TMPDIR/edges: cannot wait for an edge (assert,clear,tspec)" ]
}

@test "pps-capture: a bad sample stream is one line naming the byte, EX_DATAERR" {
  edge_line 1 0 1000 > "$BATS_TEST_TMPDIR/edges"
  printf '{"v":1,"type":"sample","source":"gps://x","time":1,"offset":"soon","delay":0,"dispersion":0,"stratum":0,"leap":0,"refid":"","poll":0}\n' |
    timecat -i json -o cbor > "$BATS_TEST_TMPDIR/bad.cbor"
  run --separate-stderr pps-capture -d sim:"$BATS_TEST_TMPDIR/edges" -o json < "$BATS_TEST_TMPDIR/bad.cbor"
  [ "$status" -eq 65 ]
  [ "$stderr" = 'pps-capture: stdin: byte 0: sample: "offset": not a number' ]
  { coarse_samples 0 0; printf '\xff\xff'; } > "$BATS_TEST_TMPDIR/bad2.cbor"
  run --separate-stderr pps-capture -d sim:"$BATS_TEST_TMPDIR/edges" -o json < "$BATS_TEST_TMPDIR/bad2.cbor"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "pps-capture: stdin: byte "*": "* ]]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
}
