#!/usr/bin/env bats
# scripts/timepipe-client: options, and the pipeline with --dry-run against a loopback ntp-serve.

load common

CLIENT=$BATS_TEST_DIRNAME/../scripts/timepipe-client

@test "timepipe-client --help; no server is EX_USAGE with one line; a bad option too" {
  run "$CLIENT" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"ntp-query --follow SERVER... | discipline | clockadj"* ]]
  run "$CLIENT"
  [ "$status" -eq 64 ]
  [ "$output" = "timepipe-client: no server given (e.g. timepipe-client pool.ntp.org)" ]
  run "$CLIENT" --bogus x
  [ "$status" -eq 64 ]
  [ "$output" = "timepipe-client: --bogus: unknown option" ]
}

@test "timepipe-client -n: ntp-query | discipline | clockadj --dry-run writes dry-run applied records" {
  require_cmd discipline
  local port
  port=$(free_port)
  ntp-serve -s 2 -l "127.0.0.1:$port" 2>/dev/null &
  track_pid $!
  wait_udp_bound "$port"
  TIMEPIPE_BIN=$TIMEPIPE_BUILD/bin timeout 60 "$CLIENT" -n -o json "127.0.0.1:$port" > "$BATS_TEST_TMPDIR/out" &
  track_pid $!
  local i
  for i in $(seq 300); do grep -q '"type":"applied"' "$BATS_TEST_TMPDIR/out" && break; sleep 0.1; done
  grep -q '"type":"applied".*"dry_run":true' "$BATS_TEST_TMPDIR/out"
}
