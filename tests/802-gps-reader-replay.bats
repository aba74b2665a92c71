#!/usr/bin/env bats
# Golden replays: captures of tests/helpers/nmea-gen in tests/data/nmea/*.nmea (faults, a leap
# second, a week-rollover receiver, a jump) and gps-reader's JSON lines for each in *.expected.
# A file has no receive times: gps-reader stamps epochs one second apart from the first one's
# time (man/gps-reader.1), so the whole output, offsets and stats included, is deterministic.
# The .expected files were reviewed against gpsd: the last test plays each capture through a pty
# to gpsd and checks that gpsd's fixes agree with gps-reader's and with the generator's truth.
bats_require_minimum_version 1.5.0
load common
load 800-gps-lib

setup() {
  require_cmd gps-reader
  DATA=$TESTS_DIR/data/nmea
}

replay() {  # replay NAME [ARGS]: gps-reader's view of the capture, as JSON lines
  local name=$1
  shift
  gps-reader --device "$DATA/$name.nmea" -o json --not-before 2020-01-01 "$@"
}

@test "golden replays: each capture gives exactly its .expected stream" {
  local f name n=0
  for f in "$DATA"/*.nmea; do
    name=$(basename "$f" .nmea)
    run --separate-stderr replay "$name"
    [ "$status" -eq 0 ]
    diff -u "$DATA/$name.expected" <(printf '%s\n' "$output")
    n=$((n + 1))
  done
  [ "$n" -ge 4 ]
}

@test "golden replays: stdin redirected from the file is the same replay (gps://stdin)" {
  run --separate-stderr gps-reader -o json --not-before 2020-01-01 < "$DATA/faults.nmea"
  [ "$status" -eq 0 ]
  diff -u <(sed 's|gps://faults.nmea|gps://stdin|' "$DATA/faults.expected") <(printf '%s\n' "$output")
}

@test "golden replays: what they show" {
  # faults: bad checksums, cut and long lines counted; no-fix and few-satellite epochs refused
  run grep '"type":"stats"' "$DATA/faults.expected"
  [[ "$output" == *'"bad_checksum":'[1-9]* ]]
  [[ "$output" == *'"too_long":'[1-9]* ]]
  [[ "$output" == *'"truncated":'[1-9]* ]]
  [[ "$output" == *'"garbage_bytes":'[1-9]* ]]
  grep -q '"reason":"no fix: GPGGA quality 0"' "$DATA/faults.expected"
  grep -q '"reason":"2 satellites, fewer than --min-sats 4"' "$DATA/faults.expected"
  # every sample's time + offset is a whole second the receiver named in a valid, locked fix
  /usr/bin/python3 - "$DATA"/*.expected <<'PY'
import json, sys
for path in sys.argv[1:]:
    fixes = {}
    for o in map(json.loads, open(path)):
        if o["type"] == "gps_fix":
            fixes[o["time"]] = o
        elif o["type"] == "sample":
            f = fixes[o["time"]]
            assert f["valid"] and f["lock"] >= 3 and "leap_second" not in f, (path, o, f)
            # replay stamps run one second per epoch from the first: the offset is 0 until the
            # receiver jumps (jump.nmea: 4 s ahead from 12:00:10 on)
            want = 4.0 if path.endswith("jump.expected") and f["utc"] >= "2026-03-01T12:00:10" else 0.0
            assert abs(o["offset"] - want) < 1e-9, (path, o)
            assert o["stratum"] == 0 and o["refid"] == "GPS" and o["source"].startswith("gps://")
PY
  # leap: 23:59:60 is a valid fix without a sample, the lock runs on into the new year
  grep '"utc":"2026-12-31T23:59:60.000Z"' "$DATA/leap.expected" | grep -q '"valid":true'
  grep '"utc":"2027-01-01T00:00:00.000Z"' "$DATA/leap.expected" | grep -q '"lock":12'
  # rollover: the receiver named 2006, gps-reader says 2026
  grep -q ',160706,' "$DATA/rollover.nmea"
  run grep -c '"rollover_weeks":1024' "$DATA/rollover.expected"
  [ "$output" -eq 8 ]
  # jump: 12:00:05 then 12:00:10, 4 s off the timeline, refused; then the lock starts over
  grep -q '"reason":"jump of +4.000 s from the last valid second"' "$DATA/jump.expected"
}

@test "golden replays: -n COUNT stops after COUNT samples, text output renders" {
  run --separate-stderr replay faults -n 2
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "$output" | grep -c '"type":"sample"')" -eq 2 ]
  printf '%s\n' "$output" | tail -1 | grep -q '"type":"stats"'
  run --separate-stderr replay rollover -o text
  [ "$status" -eq 0 ]
  [[ "$output" == *"gps://rollover.nmea"* ]]
  [[ "$output" == *"gps_fix"* ]]
  # CBOR reads back through timecat as the same records
  require_cmd timecat
  diff <(replay jump -o cbor | timecat -o json) "$DATA/jump.expected"
}

@test "golden captures reviewed against gpsd: gpsd's fixes are gps-reader's" {
  require_cmd gpsd
  local f name d
  for f in "$DATA"/*.nmea; do
    name=$(basename "$f" .nmea)
    d=$BATS_TEST_TMPDIR/$name
    mkdir -p "$d"
    gpsd_run "$d" --replay "$f" --interval 0.06 --hold 0.2
    kill_tracked
    cp "$DATA/$name.truth" "$d/truth"
    cmp "$d/nmea" "$f"
    replay "$name" --min-sats 0 >"$d/ours.json"
    run compare_with_gpsd "$d" "$d/ours.json"
    echo "$name: $output"
    [ "$status" -eq 0 ]
  done
}
