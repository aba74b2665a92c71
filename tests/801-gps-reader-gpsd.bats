#!/usr/bin/env bats
# gps-reader against gpsd 3.22: the same NMEA bytes (tests/helpers/nmea-gen, with faults) go
# through a pty to gpsd, whose view gpspipe -w records, and to gps-reader; compare_with_gpsd
# (800-gps-lib.bash) checks both accept the same epochs with the same time and position.
bats_require_minimum_version 1.5.0
load common
load 800-gps-lib

setup() {
  require_cmd gps-reader
  require_cmd gpsd
  require_cmd gpspipe
}

# ours DIR [ARGS...]: gps-reader's JSON lines for the captured bytes, into DIR/ours.json.
ours() {
  local dir=$1
  shift
  gps-reader --device "$dir/nmea" -o json --not-before 2020-01-01 "$@" >"$dir/ours.json"
}

@test "gps-reader and gpsd accept the same epochs of a receiver with bad checksums, cut lines, noise, no fix" {
  local d=$BATS_TEST_TMPDIR host_segments
  host_segments=$(ipcs -m | awk '$1 ~ /^0x4e5450/ {print $1}')
  gpsd_run "$d" --count 30 --interval 0.1 --seed 7 --errors badsum=0.2,trunc=0.15,garbage=0.2,void=0.15,long=0.1
  # gpsd made its SHM segments (NTP0-7) in its own IPC namespace, none in the machine's
  [ "$(ipcs -m | awk '$1 ~ /^0x4e5450/ {print $1}')" = "$host_segments" ]
  ours "$d" --min-sats 0
  run compare_with_gpsd "$d" "$d/ours.json"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"agree "* ]]
  # the mix really had faults of each kind, and gps-reader counted the ones it saw
  grep -q '"badsum"' "$d/truth"
  grep -q '"void"' "$d/truth"
  grep -q '"garbage"' "$d/truth"
  grep '"type":"stats"' "$d/ours.json" | grep -q '"bad_checksum":[1-9]'
  grep '"type":"stats"' "$d/ours.json" | grep -q '"too_long":[1-9]'
}

@test "GN talker: gps-reader and gpsd agree" {
  local d=$BATS_TEST_TMPDIR
  gpsd_run "$d" --count 12 --interval 0.1 --seed 3 --talker GN --errors badsum=0.2
  ours "$d" --min-sats 0
  run compare_with_gpsd "$d" "$d/ours.json"
  echo "$output"
  [ "$status" -eq 0 ]
  grep -q '"talker":"GN"' "$d/ours.json"
}

@test "too few satellites: gpsd takes the fix, gps-reader refuses exactly those epochs below --min-sats" {
  local d=$BATS_TEST_TMPDIR
  gpsd_run "$d" --count 16 --interval 0.1 --seed 5 --errors fewsats=0.3
  ours "$d" --min-sats 0
  run compare_with_gpsd "$d" "$d/ours.json"
  echo "$output"
  [ "$status" -eq 0 ]
  ours "$d" --min-sats 4
  /usr/bin/python3 - "$d/truth" "$d/ours.json" <<'PY'
import json, sys
truth = {t["utc"]: t for t in map(json.loads, open(sys.argv[1]))}
few = 0
for o in map(json.loads, open(sys.argv[2])):
    if o["type"] != "gps_fix":
        continue
    t = truth[o["utc"]]
    want = t["valid"] and t["sats"] >= 4
    assert o["valid"] == want, (o, t)
    if t["sats"] < 4:
        few += 1
        assert o["reason"] == "2 satellites, fewer than --min-sats 4", o
assert few > 0, "no epoch with too few satellites in the mix"
print(few, "refused for satellites")
PY
}

@test "leap second 23:59:60: gps-reader keeps the lock and writes no sample for it; gpsd agrees on the rest" {
  local d=$BATS_TEST_TMPDIR
  gpsd_run "$d" --count 14 --interval 0.1 --leap --start 2026-12-31T00:00:00 --errors badsum=0.1
  ours "$d" --min-sats 0
  run compare_with_gpsd "$d" "$d/ours.json"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"leap 1"* ]]
  grep '"utc":"2026-12-31T23:59:60.000Z"' "$d/ours.json" | grep -q '"leap_second":true'
  # the lock runs through the leap second: no refusal at 00:00:00, samples on both sides of it
  grep '"utc":"2027-01-01T00:00:00.000Z"' "$d/ours.json" | grep -q '"valid":true'
  run grep -c '"type":"sample"' "$d/ours.json"
  [ "$output" -ge 8 ]
  # no sample names 23:59:60 (time + offset of each sample is a whole second it named)
  /usr/bin/python3 - "$d/ours.json" <<'PY'
import json, sys
fixes = {}
for o in map(json.loads, open(sys.argv[1])):
    if o["type"] == "gps_fix":
        fixes[o["time"]] = o
    if o["type"] == "sample":
        assert "leap_second" not in fixes[o["time"]], o
PY
}

@test "week rollover: a receiver 1024 weeks behind; gps-reader's corrected date is gpsd's" {
  local d=$BATS_TEST_TMPDIR
  gpsd_run "$d" --count 10 --interval 0.1 --rollover
  ours "$d" --min-sats 0
  run compare_with_gpsd "$d" "$d/ours.json"
  echo "$output"
  [ "$status" -eq 0 ]
  run grep -c '"rollover_weeks":1024' "$d/ours.json"
  [ "$output" -eq 10 ]
  # what the receiver sent really was 1024 weeks early
  grep -q "$(date -u -d "-1024 weeks" +%Y)" "$d/nmea"
}
