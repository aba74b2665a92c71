#!/usr/bin/env bats
# ntp-serve --upstream: a hand-made sample stream (timecat -i json → CBOR) on stdin decides
# stratum, refid, root delay/dispersion and leap; a stale upstream means leap 3, and says so;
# a stream that ends or breaks ends the server (unless --stratum), and says so. Samples are
# dated in the past or the future by hand instead of waiting.
load common
bats_require_minimum_version 1.5.0

# ntp_fields PORT: "leap stratum refid root_delay root_dispersion offset_ms" of one answer.
ntp_fields() { ntp_answer_fields "$1" 1 2 3 4 5 6; }

# sample_json [OFFSET] [LEAP] [AGE_MS] [POLL] [SOURCE]: a sample record taken AGE_MS ago (0;
# negative: in the future), from upstream 192.0.2.1 at stratum 2 polled every 2^POLL s (4).
sample_json() {
  printf '{"v":1,"type":"sample","source":"%s","time":%s,"offset":%s,"delay":0.004,"dispersion":0.001,"stratum":2,"leap":%s,"refid":"GPS","poll":%s,"root_delay":0.010,"root_dispersion":0.020}\n' \
    "${5:-ntp://192.0.2.1:123}" "$(( $(date +%s%N) - ${3:-0} * 1000000 ))" "${1:-0.0}" "${2:-0}" "${4:-4}"
}

wait_log() {  # wait_log PATTERN: until the server's stderr has a line matching (up to 5 s)
  local i
  for i in $(seq 50); do
    grep -q -- "$1" "$BATS_TEST_TMPDIR/err" && return 0
    sleep 0.1
  done
  echo "no '$1' in:" >&2; cat "$BATS_TEST_TMPDIR/err" >&2
  return 1
}

setup() {
  PORT=$(free_port)
  FIFO=$BATS_TEST_TMPDIR/upstream
  mkfifo "$FIFO"
}

start_serve() {  # ntp-serve --upstream - reading the fifo (held open by this shell on fd 7; bats owns fd 3)
  ntp-serve --listen "127.0.0.1:$PORT" --upstream - "$@" < "$FIFO" 2> "$BATS_TEST_TMPDIR/err" &
  SERVE_PID=$!
  track_pid $SERVE_PID
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

@test "before any sample: unsynchronised" {
  start_serve
  run ntp_fields "$PORT"
  [[ "$output" == "3 0 "* ]]
  exec 7>&-
}

@test "a sample from a stratum-2 upstream: stratum 3, refid 192.0.2.1, root delay and dispersion summed" {
  start_serve
  sample_json | timecat -i json -o cbor >&7
  wait_for "0 3 192.0.2.1 *"
  read -r leap stratum refid rdelay rdisp _ <<<"$out"
  [ "$refid" = "192.0.2.1" ]
  [ "$rdelay" = "0.0140" ]   # 0.010 + 0.004
  # 0.020 + 0.001 + 15 ppm × age: 0.0210 right after the sample
  [[ "$rdisp" == 0.021* ]]
  exec 7>&-
}

@test "served time is corrected by the best sample's offset, unless --no-correct" {
  start_serve
  sample_json 2.5 | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  read -r _ _ _ _ _ offset_ms <<<"$out"
  [ "$offset_ms" -ge 2490 ] && [ "$offset_ms" -le 2510 ]
  exec 7>&-
}

@test "--no-correct serves the local clock" {
  start_serve --no-correct
  sample_json 2.5 | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  read -r _ _ _ _ _ offset_ms <<<"$out"
  [ "$offset_ms" -ge -10 ] && [ "$offset_ms" -le 10 ]
  exec 7>&-
}

@test "the upstream's leap indicator is passed on" {
  start_serve
  sample_json 0.0 1 | timecat -i json -o cbor >&7
  wait_for "1 3 *"
  exec 7>&-
}

@test "a stale upstream (--stale-after): leap 3, stratum 0, said once; a fresh sample brings it back" {
  start_serve --stale-after 2s
  sample_json 0.0 0 500 | timecat -i json -o cbor >&7   # 0.5 s old: stale 1.5 s from now
  wait_for "0 3 *"
  wait_for "3 0 *"
  wait_log "ntp-serve: stdin: unsynchronised: every sample is stale"
  sample_json | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  [ "$(grep -c 'ntp-serve: stdin: synchronised to ntp://192.0.2.1:123 (stratum 2)' "$BATS_TEST_TMPDIR/err")" -eq 2 ]
  [ "$(grep -c 'unsynchronised: every sample is stale' "$BATS_TEST_TMPDIR/err")" -eq 1 ]
  exec 7>&-
}

@test "staleness follows the sample's poll: maxpoll 10 stays synchronised between polls, poll 6 not after 8 polls" {
  start_serve
  # ntp-query --follow at maxpoll 10 polls every 1024-1088 s: an 1100 s old sample is still usable
  sample_json 0.0 0 1100000 10 | timecat -i json -o cbor >&7
  wait_for "0 3 192.0.2.1 *"
  read -r _ _ _ _ rdisp _ <<<"$out"
  # root dispersion grew by 15 ppm × 1100 s = 0.0165 s
  [[ "$rdisp" == 0.037* || "$rdisp" == 0.038* ]]
  exec 7>&-
  # the first server gone before the second writes the same log (both at their own offsets
  # tore the line this test reads)
  kill "$SERVE_PID"; wait "$SERVE_PID" || true
  PORT=$(free_port)
  start_serve
  sample_json 0.0 0 513000 6 | timecat -i json -o cbor >&7   # 8 × 64 s = 512 s
  wait_log "unsynchronised: every sample is stale (the newest is 513 s old)"
  run ntp_fields "$PORT"
  [[ "$output" == "3 0 "* ]]
  exec 7>&-
}

@test "a sample dated in the future does not stay fresh for ever" {
  start_serve --stale-after 2s
  sample_json 0.0 0 -300 | timecat -i json -o cbor >&7   # 0.3 s ahead: counts as taken on arrival
  wait_for "0 3 *"
  wait_for "3 0 *"
  exec 7>&-
}

@test "the stream ending: one line, exit 69 (EX_UNAVAILABLE) for systemd to restart the pipeline" {
  start_serve
  sample_json | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  exec 7>&-
  local st=0
  wait "$SERVE_PID" || st=$?
  [ "$st" -eq 69 ]
  grep -qx "ntp-serve: stdin: the upstream ended; exiting" "$BATS_TEST_TMPDIR/err"
}

@test "the stream ending as the pipeline is stopped (SIGTERM to all): exit 0, no complaint" {
  start_serve
  sample_json | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  exec 7>&-
  kill -TERM "$SERVE_PID"
  local st=0
  wait "$SERVE_PID" || st=$?
  [ "$st" -eq 0 ]
  ! grep -q "upstream ended" "$BATS_TEST_TMPDIR/err"
}

@test "a broken stream: one line with its byte offset, exit 65 (EX_DATAERR)" {
  start_serve
  sample_json | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  printf '\xff\xff' >&7
  local st=0
  wait "$SERVE_PID" || st=$?
  [ "$st" -eq 65 ]
  grep -q "^ntp-serve: stdin: byte [0-9]*: .*; exiting$" "$BATS_TEST_TMPDIR/err"
  exec 7>&-
}

@test "the stream ending or breaking with --stratum: the local clock takes over, said once" {
  start_serve --stratum 9
  sample_json | timecat -i json -o cbor >&7
  wait_for "0 3 192.0.2.1 *"
  printf '\xff\xff' >&7
  wait_for "0 9 127.127.1.1 *"
  wait_log "^ntp-serve: stdin: byte [0-9]*: .*; serving the local clock at stratum 9 from now on$"
  kill -0 "$SERVE_PID"
  exec 7>&-
}

@test "a bare ntp-serve says that it serves unsynchronised time" {
  ntp-serve --listen "127.0.0.1:$PORT" 2> "$BATS_TEST_TMPDIR/err" &
  track_pid $!
  wait_udp_bound "$PORT"
  run ntp_fields "$PORT"
  [[ "$output" == "3 0 "* ]]
  grep -qx "ntp-serve: neither --stratum nor --upstream: every answer says unsynchronised (leap 3, stratum 0)" "$BATS_TEST_TMPDIR/err"
}

@test "a far-future sample is refused with a reason at -v" {
  start_serve -v
  sample_json 0.0 0 -3600000 | timecat -i json -o cbor >&7
  wait_log "ntp://192.0.2.1:123: sample dated 3600 s ahead of the local clock, not used"
  run ntp_fields "$PORT"
  [[ "$output" == "3 0 "* ]]
  exec 7>&-
}

@test "--upstream FILE is followed like tail -F: appended records, then a replaced file" {
  local f=$BATS_TEST_TMPDIR/upstream.cbor
  sample_json 0.0 0 600000 6 | timecat -i json -o cbor > "$f"   # stale already
  ntp-serve --listen "127.0.0.1:$PORT" --upstream "$f" 2> "$BATS_TEST_TMPDIR/err" &
  SERVE_PID=$!
  track_pid $SERVE_PID
  wait_udp_bound "$PORT"
  run ntp_fields "$PORT"
  [[ "$output" == "3 0 "* ]]
  sample_json 0.0 | timecat -i json -o cbor >> "$f"
  wait_for "0 3 192.0.2.1 *"
  # replaced: a new file renamed over the old one, with a newer sample 2.5 s off
  sample_json 2.5 | timecat -i json -o cbor > "$f.new"
  mv "$f.new" "$f"
  wait_for "0 3 192.0.2.1 * 2[45]??"
  kill -0 "$SERVE_PID"
}

@test "--upstream FIFO: a writer that goes away and comes back is picked up" {
  ntp-serve --listen "127.0.0.1:$PORT" --upstream "$FIFO" 2> "$BATS_TEST_TMPDIR/err" &
  SERVE_PID=$!
  track_pid $SERVE_PID
  wait_udp_bound "$PORT"
  sample_json | timecat -i json -o cbor > "$FIFO"    # one writer, gone when done
  wait_for "0 3 192.0.2.1 *"
  sample_json 0.0 0 0 4 ntp://192.0.2.88:123 | timecat -i json -o cbor > "$FIFO"
  sample_json 0.0 0 0 4 ntp://192.0.2.88:123 | timecat -i json -o cbor > "$FIFO"
  kill -0 "$SERVE_PID"
  # both sources now agree: still synchronised, and nothing ended
  wait_for "0 3 *"
  ! grep -q "ended" "$BATS_TEST_TMPDIR/err"
}

@test "an IPv6 upstream gives an MD5 refid" {
  start_serve
  sample_json | sed 's|ntp://192.0.2.1:123|ntp://[2001:db8::1]:123|' | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  read -r _ _ refid _ <<<"$out"
  expected=$(/usr/bin/python3 -c '
import hashlib, ipaddress
print(".".join(str(b) for b in hashlib.md5(ipaddress.ip_address("2001:db8::1").packed).digest()[:4]))')
  [ "$refid" = "$expected" ]
  exec 7>&-
}
