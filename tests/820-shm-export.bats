#!/usr/bin/env bats
# shm-export(1): options and errors; samples into ntpd SHM segments (permissions by ntpd's and
# gpsd's convention), read back by shm-import; chronyd 4.3 selecting the source fed through
# `refclock SHM 0` and through `refclock SOCK`. Every SHM process runs in a private IPC namespace.
bats_require_minimum_version 1.5.0
load common
load 820-shm-lib

setup() {
  require_cmd shm-export
  require_cmd shm-import
  require_cmd timecat
}

@test "shm-export -h, -V" {
  run --separate-stderr shm-export -h
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
  run --separate-stderr shm-export -V
  [ "$status" -eq 0 ]
  [[ "$output" == "shm-export "* ]]
}

@test "shm-export: bad options are one line, EX_USAGE" {
  run --separate-stderr shm-export --bogus
  [ "$status" -eq 64 ]
  [ "$stderr" = "shm-export: --bogus: unknown option (see -h)" ]
  run --separate-stderr shm-export
  [ "$status" -eq 64 ]
  [ "$stderr" = "shm-export: missing unit (see -h)" ]
  run --separate-stderr shm-export 256
  [ "$status" -eq 64 ]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
  run --separate-stderr shm-export --mode 999 2
  [ "$status" -eq 64 ]
  [ "$stderr" = 'shm-export: --mode: "999" is not an octal mode from 0 to 0777' ]
  run --separate-stderr shm-export --sock /tmp/x --mode 600
  [ "$status" -eq 64 ]
  run --separate-stderr shm-export 2 3
  [ "$status" -eq 64 ]
  [ "$stderr" = "shm-export: 3: unexpected argument (see -h)" ]
}

@test "shm-export: bad input is one line, EX_DATAERR; records of other types pass by" {
  ipc_ns_start
  run --separate-stderr in_ns shm-export 2 <<< "not cbor"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "shm-export: stdin: byte 0: "* ]]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
  run --separate-stderr sh -c "printf '%s\n' '{\"v\":1,\"type\":\"stats\",\"source\":\"x\",\"time\":1,\"counters\":{}}' \
    '{\"v\":1,\"type\":\"sample\",\"source\":\"x\",\"time\":1,\"offset\":\"soon\"}' | timecat -i json -o cbor | nsenter -t $IPC_NS --ipc shm-export 2"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "shm-export: stdin: byte "*': sample: "offset": not a number' ]]
}

@test "samples go into the segment and shm-import reads them back; units 0-1 are 0600, 2 and up 0666, --mode" {
  ipc_ns_start
  nsenter -t "$IPC_NS" --ipc shm-import -o json -i 20ms -n 3 -x 20s 2 > "$BATS_TEST_TMPDIR/import.json" &
  local importer=$!
  track_pid $importer
  sleep 0.2
  live_samples 6 0.15 0.000123 | in_ns shm-export 2
  wait $importer
  cat "$BATS_TEST_TMPDIR/import.json"
  [ "$(wc -l < "$BATS_TEST_TMPDIR/import.json")" -eq 3 ]
  [ "$(grep -c '"source":"shm://2".*"offset":0.000123,.*"stratum":0,"leap":0,"refid":"SHM"' "$BATS_TEST_TMPDIR/import.json")" -eq 3 ]
  # permissions of the segments it created: ipcs in the namespace
  live_samples 1 0 0 | in_ns shm-export 0
  live_samples 1 0 0 | in_ns shm-export --mode 640 3
  run in_ns ipcs -m
  echo "$output"
  [[ "$output" =~ 0x4e545030\ +[0-9]+\ +root\ +600\ +96 ]]
  [[ "$output" =~ 0x4e545032\ +[0-9]+\ +root\ +666\ +96 ]]
  [[ "$output" =~ 0x4e545033\ +[0-9]+\ +root\ +640\ +96 ]]
}

@test "-s takes only the samples of one source" {
  ipc_ns_start
  printf '%s\n' '{"v":1,"type":"sample","source":"a","time":1000000000,"offset":0.5,"delay":0,"dispersion":0,"stratum":1,"leap":0,"refid":"A","poll":0}' \
    '{"v":1,"type":"sample","source":"b","time":2000000000,"offset":0.25,"delay":0,"dispersion":0,"stratum":1,"leap":0,"refid":"B","poll":0}' \
    | timecat -i json -o cbor > "$BATS_TEST_TMPDIR/two.cbor"
  in_ns shm-export -s a 4 < "$BATS_TEST_TMPDIR/two.cbor"
  run --separate-stderr in_ns shm-import -o json -n 1 4
  [ "$status" -eq 0 ]
  [[ "$output" == *'"time":1000000000,"offset":0.5,'* ]]
}

@test "chronyd (refclock SHM 0) selects the source shm-export feeds" {
  require_cmd chronyc
  ipc_ns_start
  start_chronyd_refclock "refclock SHM 0 poll 0 dpoll -2 refid TSHM"
  live_samples 120 0.25 0.0001 | nsenter -t "$IPC_NS" --ipc shm-export 0 &
  track_pid $!
  run wait_selected TSHM
  echo "$output"
  [ "$status" -eq 0 ]
  # chronyd's sign: the local clock is 100 us behind the reference
  [[ "$output" =~ TSHM\ .*\[\ *-100us\] ]]
}

@test "gps-reader | shm-export 0: chronyd selects the receiver's time, 50 ms behind its clock" {
  require_cmd chronyc
  require_cmd gps-reader
  ipc_ns_start
  start_chronyd_refclock "refclock SHM 0 poll 0 dpoll -2 refid GPS"
  nmea_live 40 | gps-reader -o cbor --not-before 2020-01-01 | nsenter -t "$IPC_NS" --ipc shm-export 0 &
  track_pid $!
  run wait_selected GPS
  echo "$output"
  [ "$status" -eq 0 ]
  # the sentences arrive 50 ms into each second they name: the local clock looks 50 ms ahead
  [[ "$output" =~ GPS\ .*\[\ *\+5[0-9]ms\] ]]
}

@test "chronyd (refclock SOCK) selects the source shm-export --sock feeds" {
  require_cmd chronyc
  ipc_ns_start
  start_chronyd_refclock "refclock SOCK $BATS_TEST_TMPDIR/refclock.sock poll 0 refid TSCK"
  live_samples 120 0.25 -0.0002 | shm-export --sock "$BATS_TEST_TMPDIR/refclock.sock" &
  track_pid $!
  run wait_selected TSCK
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" =~ TSCK\ .*\[\ *\+200us\] ]]
}

@test "shm-export --sock: nobody listening is EX_UNAVAILABLE, after saying how many were lost" {
  run --separate-stderr sh -c "printf '%s\n' '{\"v\":1,\"type\":\"sample\",\"source\":\"x\",\"time\":1,\"offset\":0,\"delay\":0,\"dispersion\":0,\"stratum\":1,\"leap\":0,\"refid\":\"X\",\"poll\":0}' \
    | timecat -i json -o cbor | shm-export --sock '$BATS_TEST_TMPDIR/nobody.sock'"
  [ "$status" -eq 69 ]
  [[ "$stderr" == *"shm-export: $BATS_TEST_TMPDIR/nobody.sock: No such file or directory; sample dropped"* ]]
  [[ "$stderr" == *"shm-export: $BATS_TEST_TMPDIR/nobody.sock: 1 of 1 samples not delivered" ]]
}
