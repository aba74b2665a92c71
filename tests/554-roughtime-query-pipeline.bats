#!/usr/bin/env bats
# The compositions roughtime-query(1) describes, end to end on loopback: roughtime-query's
# verified samples feed ntp-serve --upstream and roughtime-serve --upstream. A roughtime://
# source gets a refid (its address) like an ntp:// one.
bats_require_minimum_version 1.5.0
load common
load 500-roughtime-serve-lib

setup() {
  require_cmd roughtime-query
  require_cmd roughtime-serve
  require_cmd ntp-serve
  # The Roughtime server queried: its own clock 100 s ahead (--offset, for testing clients),
  # RADI 1 s.
  RT_PORT=$(free_port)
  RT_KEY=$(roughtime-serve --keygen "$BATS_TEST_TMPDIR/rt.key" | sed -n 's/^public key (base64): //p')
  [ -n "$RT_KEY" ]
  roughtime-serve -k "$BATS_TEST_TMPDIR/rt.key" -l "127.0.0.1:$RT_PORT" --radius 1s --offset 100s \
    2> "$BATS_TEST_TMPDIR/rt.log" &
  track_pid $!
  wait_udp_bound "$RT_PORT"
  PORT=$(free_port)
  FIFO=$BATS_TEST_TMPDIR/upstream
  mkfifo "$FIFO"
}

# ntp_fields PORT: "leap stratum refid offset_s" of one answer.
ntp_fields() { ntp_answer_fields "$1" 1 2 3 7; }

@test "roughtime-query | ntp-serve --upstream -: stratum 2, refid the Roughtime server's address, its time" {
  # the pipe, held open on fd 7 so that the stream does not end between queries
  ntp-serve --listen "127.0.0.1:$PORT" --upstream - < "$FIFO" 2> "$BATS_TEST_TMPDIR/err" &
  track_pid $!
  exec 7> "$FIFO"
  wait_udp_bound "$PORT"
  roughtime-query -o cbor "127.0.0.1:$RT_PORT" "$RT_KEY" >&7
  local out i
  for i in $(seq 30); do
    out=$(ntp_fields "$PORT")
    [[ "$out" == "0 2 "* ]] && break
    sleep 0.1
  done
  # MIDP is in whole seconds: 100 s ahead, less up to one second
  [[ "$out" == "0 2 127.0.0.1 99" || "$out" == "0 2 127.0.0.1 100" ]]
  grep -q "synchronised to roughtime://127.0.0.1:$RT_PORT (stratum 1)" "$BATS_TEST_TMPDIR/err"
  ! grep -q "refid" "$BATS_TEST_TMPDIR/err"
  exec 7>&-
}

@test "roughtime-query | roughtime-serve --upstream -: answers with the Roughtime server's time" {
  rt_keygen "$BATS_TEST_TMPDIR/relay.key"
  roughtime-serve --key "$BATS_TEST_TMPDIR/relay.key" --listen "127.0.0.1:$PORT" --upstream - \
    < "$FIFO" 2> "$BATS_TEST_TMPDIR/err" &
  track_pid $!
  exec 7> "$FIFO"
  wait_udp_bound "$PORT"
  roughtime-query -o cbor "127.0.0.1:$RT_PORT" "$RT_KEY" >&7
  local out i
  for i in $(seq 15); do
    out=$(rt_query "$PORT" "$PUBKEY" --timeout 0.2)
    [[ "$out" == "{"* ]] && break
  done
  [[ "$out" == "{"* ]]
  local off
  off=$(( ($(json_field "$out" midp) - $(date +%s%N)) / 1000000000 ))
  [ "$off" -ge 98 ] && [ "$off" -le 101 ]
  exec 7>&-
}

@test "a one-shot roughtime-query appending to a FILE that ntp-serve follows" {
  local f=$BATS_TEST_TMPDIR/upstream.cbor
  : > "$f"
  ntp-serve --listen "127.0.0.1:$PORT" --upstream "$f" 2> "$BATS_TEST_TMPDIR/err" &
  track_pid $!
  wait_udp_bound "$PORT"
  roughtime-query -o cbor "127.0.0.1:$RT_PORT" "$RT_KEY" >> "$f"
  local out i
  for i in $(seq 30); do
    out=$(ntp_fields "$PORT")
    [[ "$out" == "0 2 "* ]] && break
    sleep 0.1
  done
  # MIDP is in whole seconds: 100 s ahead, less up to one second
  [[ "$out" == "0 2 127.0.0.1 99" || "$out" == "0 2 127.0.0.1 100" ]]
}
