#!/usr/bin/env bats
# ntp-serve --upstream with several sources (a pool): RFC 5905 selection runs over them, a
# falseticker is never served, the survivors' offsets are combined; two sources that disagree
# leave no majority, and that is said on stderr. Samples are hand-written (timecat -i json).
load common
bats_require_minimum_version 1.5.0

# ntp_fields PORT: "leap stratum refid root_dispersion offset_ms" of one answer.
ntp_fields() { ntp_answer_fields "$1" 1 2 3 5 6; }

# member ADDRESS OFFSET DELAY: a sample of pool member ADDRESS taken now.
member() {
  printf '{"v":1,"type":"sample","source":"ntp://%s:123","time":%s,"offset":%s,"delay":%s,"dispersion":0.001,"stratum":2,"leap":0,"refid":"GPS","poll":6,"root_delay":0.010,"root_dispersion":0.020}\n' \
    "$1" "$(date +%s%N)" "$2" "$3"
}

setup() {
  PORT=$(free_port)
  FIFO=$BATS_TEST_TMPDIR/upstream
  mkfifo "$FIFO"
  ntp-serve --listen "127.0.0.1:$PORT" --upstream - < "$FIFO" 2> "$BATS_TEST_TMPDIR/err" &
  track_pid $!
  exec 7> "$FIFO"
  wait_udp_bound "$PORT"
}

wait_for() {  # wait_for PATTERN: until an answer matches (up to 3 s)
  local i
  for i in $(seq 30); do
    out=$(ntp_fields "$PORT")
    [[ "$out" == $1 ]] && return 0
    sleep 0.1
  done
  echo "last answer: $out" >&2
  return 1
}

@test "a pool member 5 s off is never served while three agree within 1 ms" {
  {
    member 192.0.2.4 5.0 0.001      # the lowest delay of all: served before selection
    member 192.0.2.1 2.0101 0.020
    member 192.0.2.2 2.0104 0.021
    member 192.0.2.3 2.0108 0.022
  } | timecat -i json -o cbor >&7
  wait_for "0 3 192.0.2.[123] *"
  read -r _ _ refid _ offset_ms <<<"$out"
  [ "$refid" != "192.0.2.4" ]
  [ "$offset_ms" -ge 2000 ] && [ "$offset_ms" -le 2020 ]
  # and stays so while samples keep coming
  member 192.0.2.4 5.0 0.001 | timecat -i json -o cbor >&7
  run ntp_fields "$PORT"
  [[ "$output" != *" 192.0.2.4 "* ]]
  grep -q "ntp-serve: stdin: synchronised to ntp://192.0.2.[123]:123 (stratum 2)" "$BATS_TEST_TMPDIR/err"
  exec 7>&-
}

@test "two sources that disagree: no majority, unsynchronised, said once" {
  { member 192.0.2.1 0.0 0.004; member 192.0.2.2 2.0 0.004; } | timecat -i json -o cbor >&7
  for _ in $(seq 30); do grep -q "no majority" "$BATS_TEST_TMPDIR/err" && break; sleep 0.1; done
  grep -qx "ntp-serve: stdin: unsynchronised: no majority of sources agrees on the time" "$BATS_TEST_TMPDIR/err"
  run ntp_fields "$PORT"
  [[ "$output" == "3 0 "* ]]
  # a third source that agrees with the first makes a majority
  member 192.0.2.3 0.0005 0.004 | timecat -i json -o cbor >&7
  wait_for "0 3 192.0.2.[13] *"
  exec 7>&-
}

@test "the README pipeline on loopback: ntp-query --follow | ntp-serve --upstream -" {
  local up
  up=$(free_port)
  ntp-serve --listen "127.0.0.1:$up" --stratum 2 2> /dev/null &
  track_pid $!
  wait_udp_bound "$up"
  ntp-query --follow --minpoll -2 --maxpoll -2 -o cbor "127.0.0.1:$up" >&7 2> "$BATS_TEST_TMPDIR/query.err" &
  track_pid $!
  wait_for "0 3 127.0.0.1 *"
  grep -q "ntp-serve: stdin: synchronised to ntp://127.0.0.1:$up (stratum 2)" "$BATS_TEST_TMPDIR/err"
  exec 7>&-
}
