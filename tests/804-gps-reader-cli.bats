#!/usr/bin/env bats
# gps-reader(1): --help, --version, bad options (EX_USAGE), missing or unreadable devices
# (EX_NOINPUT), one line on stderr each; bad sentences described with -v.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd gps-reader
}

@test "gps-reader -h, -V" {
  run --separate-stderr gps-reader -h
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
  [[ "$output" == *"--min-sats N"* ]]
  run --separate-stderr gps-reader --version
  [ "$status" -eq 0 ]
  [[ "$output" == "gps-reader "* ]]
}

@test "gps-reader: bad options are one line, EX_USAGE" {
  local args expect
  while IFS='|' read -r args expect; do
    run --separate-stderr gps-reader $args
    echo "$args -> $status: $stderr"
    [ "$status" -eq 64 ]
    [ "$stderr" = "$expect" ]
  done <<'CASES'
--bogus|gps-reader: --bogus: unknown option (see -h)
--speed 12345|gps-reader: --speed: 12345 is not a serial speed
--speed fast|gps-reader: --speed: "fast" is not an integer from 50 to 4000000
--lock 0|gps-reader: --lock: "0" is not an integer from 1 to 3600
--min-sats 100|gps-reader: --min-sats: "100" is not an integer from 0 to 99
--not-before 2020-13-01|gps-reader: --not-before: "2020-13-01" is not a date YYYY-MM-DD
--not-before 2021-02-30|gps-reader: --not-before: "2021-02-30" is not a date YYYY-MM-DD
--not-before yesterday|gps-reader: --not-before: "yesterday" is not a date YYYY-MM-DD
-o xml|gps-reader: -o: unknown output format "xml" (text, json or cbor)
--device|gps-reader: --device: missing value (see -h)
extra|gps-reader: extra: unexpected argument (see -h)
CASES
  run --separate-stderr gps-reader --offset soon
  [ "$status" -eq 64 ]
  [[ "$stderr" == "gps-reader: --offset: bad duration "* ]]
}

@test "gps-reader: a missing device is EX_NOINPUT, one line" {
  run --separate-stderr gps-reader --device /dev/ttyS9
  [ "$status" -eq 66 ]
  [ "$stderr" = "gps-reader: /dev/ttyS9: No such file or directory" ]
  run --separate-stderr gps-reader --device /
  [ "$status" -eq 66 ]
  [ "$stderr" = "gps-reader: /: Is a directory" ]
  [ -z "$output" ]
}

@test "gps-reader -v: bad sentences described on stderr, counted in stats, never fatal" {
  local d=$BATS_TEST_TMPDIR
  printf '%s\r\n' '$GPZDA,120000.00,01,03,2026,00,00*00' '$GPGGA,1200x0.00,,,,,1,08,1.0,1.0,M,,M,,*0A' \
    '$GPGSV,1,1,01,01,40,083,46*44' >"$d/bad.nmea"
  run --separate-stderr gps-reader -v --device "$d/bad.nmea" -o json
  echo "$stderr"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"gps-reader: bad.nmea: GPZDA: bad checksum 00, computed 61"* ]]
  [[ "$stderr" == *"gps-reader: bad.nmea: GPGGA: time: \"1200x0.00\" is not valid"* ]]
  [[ "$stderr" != *GPGSV* ]]  # a sentence this reader does not use is only counted
  [[ "$output" == *'"bad_checksum":1'*'"bad_field":1'*'"unknown_type":1'* ]]
  run --separate-stderr gps-reader --device "$d/bad.nmea" -o json
  [ -z "$stderr" ]
}
