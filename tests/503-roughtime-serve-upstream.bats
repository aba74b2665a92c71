#!/usr/bin/env bats
# roughtime-serve --upstream: a hand-made sample stream (timecat -i json → CBOR) on stdin decides
# whether it answers at all, RADI (the upstream's root distance, never under --radius) and the
# served time (corrected by the upstream's offset).
load common
load 500-roughtime-serve-lib
bats_require_minimum_version 1.5.0

# sample_json [OFFSET] [ROOT_DELAY] [ROOT_DISPERSION] [AGE_MS]: a sample taken AGE_MS ago (0)
# from a stratum-2 upstream.
sample_json() {
  printf '{"v":1,"type":"sample","source":"ntp://192.0.2.1:123","time":%s,"offset":%s,"delay":0.004,"dispersion":0.001,"stratum":2,"leap":0,"refid":"GPS","poll":4,"root_delay":%s,"root_dispersion":%s}\n' \
    "$(( $(date +%s%N) - ${4:-0} * 1000000 ))" "${1:-0.0}" "${2:-0.010}" "${3:-0.020}"
}

setup() {
  PORT=$(free_port)
  KEY=$BATS_TEST_TMPDIR/key
  rt_keygen "$KEY"
  FIFO=$BATS_TEST_TMPDIR/upstream
  mkfifo "$FIFO"
}

start_serve() {  # roughtime-serve --upstream - reading the fifo (held open by this shell on fd 7)
  roughtime-serve --key "$KEY" --listen "127.0.0.1:$PORT" --upstream - "$@" < "$FIFO" 2> "$BATS_TEST_TMPDIR/err" &
  SERVE_PID=$!
  track_pid $SERVE_PID
  exec 7> "$FIFO"
  wait_udp_bound "$PORT"
}

wait_answer() {  # until a query is answered (up to 3 s); the answer in $out
  local i
  for i in $(seq 15); do
    out=$(rt_query "$PORT" "$PUBKEY" --timeout 0.2)
    [[ "$out" == "{"* ]] && return 0
  done
  echo "last: $out" >&2
  return 1
}

@test "before any sample: no answer, and the log says why once" {
  start_serve
  run rt_query "$PORT" "$PUBKEY" --timeout 0.3
  [ "$output" = "no answer" ]
  run rt_query "$PORT" "$PUBKEY" --timeout 0.3
  [ "$output" = "no answer" ]
  [ "$(grep -c 'roughtime-serve: not answering: no upstream sample yet' "$BATS_TEST_TMPDIR/err")" -eq 1 ]
  sample_json | timecat -i json -o cbor >&7
  wait_answer
  grep -q 'roughtime-serve: answering again' "$BATS_TEST_TMPDIR/err"
  exec 7>&-
}

@test "RADI is the upstream's root distance when larger than --radius, else --radius" {
  start_serve
  # root distance = (4 + 0.004) / 2 + 3 + 0.001 = 5.003 s: RADI 6 s in whole seconds.
  sample_json 0.0 4.0 3.0 | timecat -i json -o cbor >&7
  wait_answer
  [ "$(json_field "$out" radi)" -eq 6000000000 ]
  run rt_query "$PORT" "$PUBKEY" --google
  local g
  g=$(json_field "$output" radi)
  [ "$g" -ge 5003000000 ] && [ "$g" -le 5010000000 ]
  exec 7>&-
}

@test "a close upstream: RADI is the --radius floor" {
  start_serve --radius 4s
  sample_json | timecat -i json -o cbor >&7
  wait_answer
  [ "$(json_field "$out" radi)" -eq 4000000000 ]
  exec 7>&-
}

@test "served time is corrected by the upstream's offset" {
  start_serve
  sample_json 100.0 | timecat -i json -o cbor >&7
  wait_answer
  local off
  off=$(( ($(json_field "$out" midp) - $(date +%s%N)) / 1000000000 ))
  [ "$off" -ge 98 ] && [ "$off" -le 101 ]
  exec 7>&-
}

@test "a stale upstream (--stale-after): no answers, said once; a fresh sample: answers again" {
  start_serve --stale-after 2s
  sample_json 0.0 0.010 0.020 500 | timecat -i json -o cbor >&7   # stale 1.5 s from now
  wait_answer
  for _ in $(seq 30); do
    grep -q 'roughtime-serve: stdin: unsynchronised: every sample is stale' "$BATS_TEST_TMPDIR/err" && break
    sleep 0.1
  done
  run rt_query "$PORT" "$PUBKEY" --timeout 0.3
  [ "$output" = "no answer" ]
  grep -q 'not answering: the upstream is stale or unsynchronised' "$BATS_TEST_TMPDIR/err"
  sample_json | timecat -i json -o cbor >&7
  wait_answer
  exec 7>&-
}

@test "the stream ending: one line, exit 69 (EX_UNAVAILABLE)" {
  start_serve
  sample_json | timecat -i json -o cbor >&7
  wait_answer
  exec 7>&-
  local st=0
  wait "$SERVE_PID" || st=$?
  [ "$st" -eq 69 ]
  grep -qx 'roughtime-serve: stdin: the upstream ended; exiting' "$BATS_TEST_TMPDIR/err"
}

@test "RADI is computed in seconds: not capped at 65536 s" {
  start_serve
  # root distance = (0.010 + 0.004) / 2 + 100000 + 0.001 = 100000.008 s: RADI 100001 s
  sample_json 0.0 0.010 100000 | timecat -i json -o cbor >&7
  wait_answer
  [ "$(json_field "$out" radi)" -eq 100001000000000 ]
  exec 7>&-
}

@test "--upstream FILE missing: exit 66" {
  run --separate-stderr roughtime-serve --key "$KEY" --listen 127.0.0.1:0 --upstream "$BATS_TEST_TMPDIR/none"
  [ "$status" -eq 66 ]
  [ "$stderr" = "roughtime-serve: $BATS_TEST_TMPDIR/none: No such file or directory" ]
}
