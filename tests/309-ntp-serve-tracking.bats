#!/usr/bin/env bats
# ntp-serve --upstream following a disciplined clock: discipline's output (adjust, tracking and
# refusal records) on its stdin; the tracking records decide stratum, refid, root distance and
# leap, and the local clock is served as it is (clockadj corrects it, not the server). Checked
# with our own raw client and with ntpsec's ntpdig.
load common
bats_require_minimum_version 1.5.0

# ntp_fields PORT: "leap stratum refid root_delay root_dispersion offset_ms" of one answer.
ntp_fields() { ntp_answer_fields "$1" 1 2 3 4 5 6; }

# samples N OFFSET: N samples of ntp://192.0.2.1:123 (stratum 2, root delay 10 ms) 64 s apart,
# the last one taken now, each OFFSET s off, as CBOR.
samples() {
  /usr/bin/python3 - "$1" "$2" "$(date +%s%N)" <<'PY' | timecat -i json -o cbor
import json, sys
n, off, now = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    print(json.dumps({"v": 1, "type": "sample", "source": "ntp://192.0.2.1:123",
        "time": now - (n - 1 - i) * 64 * 10**9, "offset": off, "delay": 0.004, "dispersion": 0.001,
        "stratum": 2, "leap": 0, "refid": "GPS", "poll": 6, "root_delay": 0.010,
        "root_dispersion": 0.020}))
PY
}

# tracking_json SYNCHRONISED LEAP STRATUM: one tracking record dated now.
tracking_json() {
  printf '{"v":1,"type":"tracking","source":"ntp://192.0.2.1:123","time":%s,"stratum":%s,"refid":"192.0.2.1","root_delay":0.014,"root_dispersion":0.021,"offset":0.0,"frequency":0.0,"skew":0.0,"leap":%s,"synchronised":%s,"poll":6}\n' \
    "$(date +%s%N)" "$3" "$2" "$1"
}

setup() {
  require_cmd discipline
  require_cmd timecat
  PORT=$(free_port)
  FIFO=$BATS_TEST_TMPDIR/upstream
  mkfifo "$FIFO"
}

wait_for() {  # wait_for PATTERN: until an answer matches (up to 5 s)
  local i
  for i in $(seq 50); do
    out=$(ntp_fields "$PORT")
    [[ "$out" == $1 ]] && return 0
    sleep 0.1
  done
  echo "last answer: $out" >&2; cat "$BATS_TEST_TMPDIR/err" >&2
  return 1
}

@test "samples | discipline | ntp-serve --upstream -: served at the tracking record's stratum and refid, the local clock uncorrected" {
  # The samples say the clock is 250 ms behind: following samples, ntp-serve would add 250 ms;
  # following the disciplined clock, it serves the local clock (clockadj would correct it).
  discipline < "$FIFO" 2> "$BATS_TEST_TMPDIR/discipline.err" |
    ntp-serve --listen "127.0.0.1:$PORT" --upstream - 2> "$BATS_TEST_TMPDIR/err" &
  track_pid $!
  exec 7> "$FIFO"
  wait_udp_bound "$PORT"
  samples 4 0.25 >&7
  wait_for "0 3 192.0.2.1 *"
  read -r leap stratum refid rdelay rdisp offset_ms <<<"$out"
  [ "$rdelay" = "0.0140" ]           # 0.010 + 0.004, as the tracking record says
  [ "$offset_ms" -ge -5 ] && [ "$offset_ms" -le 5 ]
  grep -q '^ntp-serve: stdin: synchronised to ntp://192.0.2.1:123 through the discipline (stratum 2)$' "$BATS_TEST_TMPDIR/err"
  exec 7>&-
}

@test "ntpdig (ntpsec) against a server that follows tracking records: stratum 3, the local clock" {
  require_cmd ntpdig
  # ntpdig only speaks to port 123: a loopback address of our own, 127.X.Y.Z:123.
  local addr="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
  ntp-serve --listen "$addr:123" --upstream - < "$FIFO" 2> "$BATS_TEST_TMPDIR/err" &
  track_pid $!
  exec 7> "$FIFO"
  for _ in $(seq 50); do ss -Hnlu "src $addr" | grep -q . && break; sleep 0.1; done
  tracking_json true 0 3 | timecat -i json -o cbor >&7
  for _ in $(seq 50); do grep -q 'through the discipline' "$BATS_TEST_TMPDIR/err" && break; sleep 0.1; done
  run ntpdig -j -p 3 -t 2 "$addr"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"stratum":3'* ]]
  [[ "$output" == *'"leap":"no-leap"'* ]]
  /usr/bin/python3 -c '
import json, sys
offsets = [abs(json.loads(l)["offset"]) for l in sys.argv[1].splitlines() if l.startswith("{")]
sys.exit(0 if offsets and min(offsets) < 0.005 else 1)' "$output"
  exec 7>&-
}

@test "a tracking record that says unsynchronised: leap 3, said once; a synchronised one brings it back" {
  ntp-serve --listen "127.0.0.1:$PORT" --upstream - < "$FIFO" 2> "$BATS_TEST_TMPDIR/err" &
  track_pid $!
  exec 7> "$FIFO"
  wait_udp_bound "$PORT"
  tracking_json true 0 3 | timecat -i json -o cbor >&7
  wait_for "0 3 192.0.2.1 *"
  tracking_json false 3 16 | timecat -i json -o cbor >&7
  wait_for "3 0 *"
  grep -q '^ntp-serve: stdin: unsynchronised: the discipline says so (stratum 16, leap 3)$' "$BATS_TEST_TMPDIR/err"
  tracking_json true 0 2 | timecat -i json -o cbor >&7
  wait_for "0 2 192.0.2.1 *"
  exec 7>&-
}

@test "a tracking record with a refid that is no refid: one line at -v, not used" {
  ntp-serve -v --listen "127.0.0.1:$PORT" --upstream - < "$FIFO" 2> "$BATS_TEST_TMPDIR/err" &
  track_pid $!
  exec 7> "$FIFO"
  wait_udp_bound "$PORT"
  tracking_json true 0 3 | sed 's/"refid":"192.0.2.1"/"refid":"not a refid"/' | timecat -i json -o cbor >&7
  for _ in $(seq 50); do grep -q 'not a refid' "$BATS_TEST_TMPDIR/err" && break; sleep 0.1; done
  grep -q 'ntp://192.0.2.1:123 (tracking): refid "not a refid" is neither an IPv4 address nor 1-4 ASCII characters, not used' "$BATS_TEST_TMPDIR/err"
  run ntp_fields "$PORT"
  [[ "$output" == "3 0 "* ]]
  exec 7>&-
}
