#!/usr/bin/env bats
# pps-capture(1) on a simulated device (--device sim:FILE): the same sequence and pairing code a
# /dev/ppsN run uses, checked on the records and counters written. 1 Hz with jitter, missing
# pulses, repeated and restarted sequence numbers, edges with no (or an ambiguous) coarse second,
# the clear edge, PPS_FETCH timeouts, --second-from-clock, --offset, -n, -x, SIGTERM.
bats_require_minimum_version 1.5.0
load common
load 840-pps-lib

setup() {
  require_cmd pps-capture
  require_cmd timecat
}

@test "pps-capture: 1 Hz with jitter: each pulse's offset is its second minus its timestamp, to the ns" {
  phases=(1234 -876 40210 -3 999999 -250000 17 0 -999 5555)
  : > "$BATS_TEST_TMPDIR/edges"
  want=""
  for i in "${!phases[@]}"; do
    edge_line $((i + 1)) "$i" "${phases[$i]}" >> "$BATS_TEST_TMPDIR/edges"
    want+="$(( (T0 + i) * 1000000000 + phases[i] )) $(( -phases[i] ))"$'\n'
  done
  coarse_samples 0 9 0.02 > "$BATS_TEST_TMPDIR/coarse.cbor"   # the coarse source 20 ms off
  pps_json -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json")" = "${want%$'\n'}" ]
  # every sample: source, stratum 0, refid PPS, delay 0; dispersion 1 ns plus the jitter
  /usr/bin/python3 - "$BATS_TEST_TMPDIR/out.json" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
samples = [r for r in recs if r["type"] == "sample"]
assert len(samples) == 10, len(samples)
for i, s in enumerate(samples):
    assert s["source"] == "pps://sim" and s["stratum"] == 0 and s["refid"] == "PPS", s
    assert s["delay"] == 0 and s["leap"] == 0 and s["poll"] == 0 and s["precision"] == -30, s
    if i == 0:
        assert "jitter" not in s and s["dispersion"] == 1e-9, s
    else:
        assert 0 < s["jitter"] < 1e-3 and abs(s["dispersion"] - 1e-9 - s["jitter"]) < 1e-15, s
PY
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" pulses)" -eq 10 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" samples)" -eq 10 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" coarse)" -eq 10 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" missed)" -eq 0 ]
}

@test "pps-capture: missing pulses are counted from the sequence gaps" {
  { edge_line 1 0 100; edge_line 2 1 100; edge_line 5 4 100; edge_line 6 5 100; edge_line 10 9 100; } > "$BATS_TEST_TMPDIR/edges"
  coarse_samples 0 9 > "$BATS_TEST_TMPDIR/coarse.cbor"
  pps_json -v -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 0 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | cut -d' ' -f1 | tr '\n' ' ')" = "1700000000000000100 1700000001000000100 1700000004000000100 1700000005000000100 1700000009000000100 " ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" missed)" -eq 5 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" pulses)" -eq 5 ]
  [[ "$stderr" == *"2 pulses missed before sequence 5"* ]]
  [[ "$stderr" == *"3 pulses missed before sequence 10"* ]]
}

@test "pps-capture: a repeated sequence number is no new pulse; sequence 0 is none yet; a restart is no gap" {
  { echo "0 0 0 0"; edge_line 7 0 500; edge_line 7 0 500; edge_line 8 1 500; edge_line 8 1 500; edge_line 8 1 500
    edge_line 2 2 500; edge_line 3 3 500; } > "$BATS_TEST_TMPDIR/edges"
  coarse_samples 0 3 > "$BATS_TEST_TMPDIR/coarse.cbor"
  pps_json -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 0 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | wc -l)" -eq 4 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | cut -d' ' -f1 | sort -u | wc -l)" -eq 4 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" repeated)" -eq 3 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" none_yet)" -eq 1 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" restarts)" -eq 1 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" missed)" -eq 0 ]
}

@test "pps-capture: a new sequence number at an old time is stale, not a pulse" {
  { edge_line 1 0 500; edge_line 2 0 500; edge_line 3 1 500; } > "$BATS_TEST_TMPDIR/edges"
  coarse_samples 0 1 > "$BATS_TEST_TMPDIR/coarse.cbor"
  pps_json -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 0 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | wc -l)" -eq 2 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" stale)" -eq 1 ]
}

@test "pps-capture: pulses with no coarse second within --max-age are refused and counted" {
  : > "$BATS_TEST_TMPDIR/edges"
  for i in $(seq 0 9); do edge_line $((i + 1)) "$i" 2000 >> "$BATS_TEST_TMPDIR/edges"; done
  coarse_samples 0 3 > "$BATS_TEST_TMPDIR/coarse.cbor"   # the coarse stream names 0-3 only (received +0.3 s)
  pps_json -v -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 0 ]
  # pulses 0-5 are within 2 s of the last coarse sample (3.3 s); 6-9 are not
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | wc -l)" -eq 6 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | cut -d' ' -f2 | sort -u)" = "-2000" ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" no_second)" -eq 4 ]
  [[ "$stderr" == *"pulse at 1700000006.000002000: no coarse second within 2 s of the pulse"* ]]
  pps_json --max-age 500ms -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 0 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | wc -l)" -eq 4 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" no_second)" -eq 6 ]
  # no sample stream at all: every pulse refused, none lost silently
  pps_json -d sim:"$BATS_TEST_TMPDIR/edges" < /dev/null
  [ "$status" -eq 0 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | wc -l)" -eq 0 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" no_second)" -eq 10 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" pulses)" -eq 10 ]
}

@test "pps-capture: a coarse source too far from the second is refused; unusable samples are not taken" {
  : > "$BATS_TEST_TMPDIR/edges"
  for i in 0 1 2; do edge_line $((i + 1)) "$i" 0 >> "$BATS_TEST_TMPDIR/edges"; done
  coarse_samples 0 2 0.45 > "$BATS_TEST_TMPDIR/coarse.cbor"
  pps_json -v -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 0 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | wc -l)" -eq 0 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" too_far)" -eq 3 ]
  [[ "$stderr" == *"coarse time 0.45 s from the nearest second (limit 0.4 s)"* ]]
  # a wider --max-distance takes them (nearest second: the pulse's own)
  pps_json --max-distance 0.49 -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | cut -d' ' -f2 | sort -u)" = "0" ]
  # an unsynchronised receiver (leap 3) names no second
  coarse_samples 0 2 0 300 3 > "$BATS_TEST_TMPDIR/unsync.cbor"
  pps_json -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/unsync.cbor"
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" coarse_unusable)" -eq 3 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" no_second)" -eq 3 ]
  # a leap warning from the receiver is passed on
  coarse_samples 0 2 0 300 1 > "$BATS_TEST_TMPDIR/leap.cbor"
  pps_json -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/leap.cbor"
  [ "$(grep -c '"type":"sample".*"leap":1,' "$BATS_TEST_TMPDIR/out.json")" -eq 3 ]
}

@test "pps-capture: the local clock 0.3 s off: the pulses still pair with their seconds" {
  : > "$BATS_TEST_TMPDIR/edges"
  for i in 0 1 2 3; do edge_line $((i + 1)) "$i" -300000123 >> "$BATS_TEST_TMPDIR/edges"; done
  coarse_samples 0 3 0.3 > "$BATS_TEST_TMPDIR/coarse.cbor"
  pps_json -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 0 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | cut -d' ' -f2 | sort -u)" = "300000123" ]
}

@test "pps-capture --edge clear: the clear edge's sequence and time, the assert edge ignored" {
  : > "$BATS_TEST_TMPDIR/edges"
  # assert at the second + 10 us (a 100 ms pulse whose clear edge marks the second + 2 us here)
  for i in 0 1 2; do edge_line $((i + 1)) "$i" 10000 $((i + 1)) "$i" 2000 >> "$BATS_TEST_TMPDIR/edges"; done
  edge_line 4 3 10000 3 2 2000 >> "$BATS_TEST_TMPDIR/edges"   # the assert edge woke the fetch: clear repeats
  coarse_samples 0 3 > "$BATS_TEST_TMPDIR/coarse.cbor"
  pps_json -d sim:"$BATS_TEST_TMPDIR/edges" --edge clear < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 0 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | cut -d' ' -f2 | sort -u)" = "-2000" ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | wc -l)" -eq 3 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" repeated)" -eq 1 ]
  pps_json -d sim:"$BATS_TEST_TMPDIR/edges" --edge assert < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | cut -d' ' -f2 | sort -u)" = "-10000" ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | wc -l)" -eq 4 ]
}

@test "pps-capture: PPS_FETCH timeouts are counted, and the pulses around them still paired" {
  { edge_line 1 0 700; echo timeout; echo timeout; edge_line 2 1 700; echo timeout; edge_line 3 2 700; } > "$BATS_TEST_TMPDIR/edges"
  coarse_samples 0 2 > "$BATS_TEST_TMPDIR/coarse.cbor"
  pps_json -v -t 10ms -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 0 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" timeouts)" -eq 3 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | wc -l)" -eq 3 ]
  [ "$(grep -c 'no edge within 0.01 s' <<< "$stderr")" -eq 3 ]
}

@test "pps-capture --second-from-clock: no stdin needed; a clock within --max-distance names the second" {
  { edge_line 1 0 250000000; edge_line 2 1 -399000000; edge_line 3 2 450000000; } > "$BATS_TEST_TMPDIR/edges"
  printf 'not a stream' > "$BATS_TEST_TMPDIR/junk"   # never read
  pps_json --second-from-clock -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/junk"
  [ "$status" -eq 0 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json")" = "$(printf '%s\n' "1700000000250000000 -250000000" "1700000000601000000 399000000")" ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" too_far)" -eq 1 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" coarse)" -eq 0 ]
}

@test "pps-capture --offset: the cable delay is added to every offset" {
  { edge_line 1 0 1000; edge_line 2 1 1000; } > "$BATS_TEST_TMPDIR/edges"
  coarse_samples 0 1 > "$BATS_TEST_TMPDIR/coarse.cbor"
  pps_json --offset 150ns -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | cut -d' ' -f2 | sort -u)" = "-850" ]
  pps_json --offset -1us -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | cut -d' ' -f2 | sort -u)" = "-2000" ]
}

@test "pps-capture -n stops after COUNT samples; CBOR by default into a pipe; text on request" {
  : > "$BATS_TEST_TMPDIR/edges"
  for i in $(seq 0 9); do edge_line $((i + 1)) "$i" 1000 >> "$BATS_TEST_TMPDIR/edges"; done
  coarse_samples 0 9 > "$BATS_TEST_TMPDIR/coarse.cbor"
  pps_json -n 3 -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 0 ]
  [ "$(samples_of "$BATS_TEST_TMPDIR/out.json" | wc -l)" -eq 3 ]
  [ "$(counter "$BATS_TEST_TMPDIR/out.json" samples)" -eq 3 ]
  pps-capture -n 2 -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor" > "$BATS_TEST_TMPDIR/out.cbor"
  [ "$(timecat -o json < "$BATS_TEST_TMPDIR/out.cbor" | grep -c '"source":"pps://sim"')" -eq 3 ]
  run --separate-stderr pps-capture -o text -n 1 -d sim:"$BATS_TEST_TMPDIR/edges" < "$BATS_TEST_TMPDIR/coarse.cbor"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == *remote*refid* ]]
  [[ "${lines[2]}" == " pps://sim "*".PPS."*"-1000ns"* ]]
  [[ "${lines[3]}" == "stats source=pps://sim "* ]]
}

@test "pps-capture -x and SIGTERM end a run cleanly with its counters" {
  for i in $(seq 1000); do echo timeout; done > "$BATS_TEST_TMPDIR/edges"
  pps_json -x 1s -t 50ms -d sim:"$BATS_TEST_TMPDIR/edges" < /dev/null
  [ "$status" -eq 0 ]
  n=$(counter "$BATS_TEST_TMPDIR/out.json" timeouts)
  [ "$n" -ge 1 ] && [ "$n" -lt 1000 ]
  pps-capture -o json -t 60s -d sim:"$BATS_TEST_TMPDIR/edges" < /dev/null > "$BATS_TEST_TMPDIR/term.json" 2>&1 &
  pid=$!
  track_pid "$pid"
  wait_catches_term "$pid"
  kill -TERM "$pid"
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ]
  [ "$(counter "$BATS_TEST_TMPDIR/term.json" pulses)" -eq 0 ]
  [ "$(counter "$BATS_TEST_TMPDIR/term.json" timeouts)" -eq 0 ]
}
