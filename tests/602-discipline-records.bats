#!/usr/bin/env bats
# discipline(1) end to end on hand-written streams: a Roughtime bound refuses a colluding NTP
# majority, the leap second of a leap-seconds.list is announced on its day only, holdover.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd discipline
  require_cmd timecat
}

# stream PYTHON: the JSON lines PYTHON prints, as CBOR.
stream() { /usr/bin/python3 -c "$1" | timecat -i json -o cbor; }

PRELUDE='
import json
def ntp(host, t, off, leap=0):
    print(json.dumps({"v": 1, "type": "sample", "source": "ntp://%s:123" % host, "time": t,
        "offset": off, "delay": 0.0002, "dispersion": 1e-6, "stratum": 2, "leap": leap,
        "refid": "192.0.2.200", "poll": 6, "root_delay": 0.001, "root_dispersion": 0.001}))
'

@test "three servers of five 10 s ahead, outside a verified Roughtime bound: refused, the clock not moved" {
  stream "$PRELUDE
t = 1700000000 * 10**9
print(json.dumps({'v': 1, 'type': 'sample', 'source': 'roughtime://192.0.2.9:2002', 'time': t,
    'offset': 0.0, 'delay': 0.01, 'dispersion': 0, 'stratum': 1, 'leap': 0, 'refid': 'ROUG',
    'poll': 0, 'root_dispersion': 0.1, 'verified': True}))
for i in range(1, 6):
    ntp('192.0.2.%d' % i, t + i * 10**9, 10.0 if i <= 3 else 0.0)
ntp('192.0.2.1', t + 10 * 10**9, 10.0)
" > "$BATS_TEST_TMPDIR/in.cbor"
  run --separate-stderr sh -c "discipline < '$BATS_TEST_TMPDIR/in.cbor' | timecat -o json"
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "$output" | grep -c '"type":"adjust"')" -eq 7 ]
  ! printf '%s\n' "$output" | grep -q '"step"\|"slew"\|"frequency"'
  printf '%s\n' "$output" | grep '"type":"refusal"' | tail -1 |
    grep -Eq '"reason":"offset 10 s above roughtime://192.0.2.9:2002'"'"'s bound","offset":10\.0[0-9]*,"lower_bound":-0\.10[0-9]*,"upper_bound":0\.10[0-9]*\}'
}

# The colluders are heard before the first Roughtime answer: without --min-bounds the first
# update steps the clock 10 s (steps are allowed in the first 3); with it nothing moves until a
# bound is held, and then the bound refuses them.
@test "--min-bounds 1: NTP samples heard before any Roughtime bound are refused, then the bound refuses the colluders" {
  stream "$PRELUDE
t = 1700000000 * 10**9
for i in range(1, 6):
    ntp('192.0.2.%d' % i, t + i * 10**9, 10.0 if i <= 3 else 0.0)
print(json.dumps({'v': 1, 'type': 'sample', 'source': 'roughtime://192.0.2.9:2002', 'time': t + 6 * 10**9,
    'offset': 0.0, 'delay': 0.01, 'dispersion': 0, 'stratum': 1, 'leap': 0, 'refid': 'ROUG',
    'poll': 0, 'root_dispersion': 0.1, 'verified': True}))
ntp('192.0.2.1', t + 10 * 10**9, 10.0)
" > "$BATS_TEST_TMPDIR/in.cbor"
  run --separate-stderr sh -c "discipline < '$BATS_TEST_TMPDIR/in.cbor' | timecat -o json"
  [ "$status" -eq 0 ]
  printf '%s\n' "$output" | grep -q '"step":10\.'   # without it the majority steps the clock
  run --separate-stderr sh -c "discipline --min-bounds 1 < '$BATS_TEST_TMPDIR/in.cbor' | timecat -o json"
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "$output" | grep -c '"type":"adjust"')" -eq 7 ]
  ! printf '%s\n' "$output" | grep -q '"step"\|"slew"\|"frequency"'
  printf '%s\n' "$output" | grep '"type":"refusal"' | head -1 |
    grep -q '"reason":"0 verified Roughtime bounds, fewer than --min-bounds 1"'
  printf '%s\n' "$output" | grep '"type":"refusal"' | tail -1 |
    grep -q '"reason":"offset 10 s above roughtime://192.0.2.9:2002'"'"'s bound"'
}

@test "--min-bounds: out of range is a usage error" {
  run --separate-stderr discipline --min-bounds 65 < /dev/null
  [ "$status" -eq 64 ]
  [ "$stderr" = "discipline: --min-bounds: \"65\" is not an integer from 0 to 64" ] || { echo "$stderr"; false; }
}

@test "--leapfile: the leap second announced on 2016-12-31 only" {
  stream "$PRELUDE
day = 86400 * 10**9
t = 1483228800 * 10**9 - 2 * day
for i in range(3):
    ntp('192.0.2.1', t + i * day + 3600 * 10**9, 0.0)
" > "$BATS_TEST_TMPDIR/in.cbor"
  run --separate-stderr sh -c "discipline --leapfile '$TESTS_DIR/data/leap-seconds.list' < '$BATS_TEST_TMPDIR/in.cbor' | timecat -o json"
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "$output" | grep '"type":"adjust"' | grep -c '"leap":1')" -eq 1 ]
  printf '%s\n' "$output" | grep '"type":"adjust"' | sed -n 2p | grep -q '"time":1483146000000000000,.*"leap":1'
}

@test "--holdover: unsynchronised (stratum 16, leap 3) after that long without an update" {
  stream "$PRELUDE
t = 1700000000 * 10**9
ntp('192.0.2.1', t, 0.0)
ntp('192.0.2.1', t + 200 * 10**9, 0.0, leap=3)
ntp('192.0.2.1', t + 400 * 10**9, 0.0, leap=3)
" > "$BATS_TEST_TMPDIR/in.cbor"
  run --separate-stderr sh -c "discipline --holdover 5m < '$BATS_TEST_TMPDIR/in.cbor' | timecat -o json"
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "$output" | grep -c '"type":"tracking"')" -eq 2 ]
  printf '%s\n' "$output" | grep '"type":"tracking"' | tail -1 |
    grep -q '"source":"local","time":1700000400000000000,"stratum":16,.*"leap":3,"synchronised":false'
}
