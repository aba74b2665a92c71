#!/usr/bin/env bats
# discipline(1): options, the stream protocol (one adjust per sample), replay, bad input,
# driftfile, leapfile, panic, and the pipeline from ntp-query against ntp-serve on loopback.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd discipline
  require_cmd timecat
}

# samples N [OFFSET]: N JSON sample lines of one server, 64 s apart, as CBOR on stdout.
samples() {
  /usr/bin/python3 - "$1" "${2:-0.01}" <<'PY' | timecat -i json -o cbor
import json, sys
n, off = int(sys.argv[1]), float(sys.argv[2])
t = 1700000000 * 10**9
for i in range(n):
    print(json.dumps({"v": 1, "type": "sample", "source": "ntp://192.0.2.1:123",
        "time": t + i * 64 * 10**9, "offset": off if i == 0 else 1e-5 * (i % 3),
        "delay": 0.0002 + 1e-5 * (i % 5), "dispersion": 1e-6, "stratum": 2, "leap": 0,
        "refid": "192.0.2.7", "poll": 6, "root_delay": 0.001, "root_dispersion": 0.001}))
PY
}

@test "discipline -h, -V" {
  run --separate-stderr discipline -h
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
  run --separate-stderr discipline -V
  [ "$status" -eq 0 ]
  [[ "$output" == "discipline "* ]]
}

@test "discipline: bad options are one line, EX_USAGE" {
  run --separate-stderr discipline --bogus
  [ "$status" -eq 64 ]
  [ "$stderr" = "discipline: --bogus: unknown option (see -h)" ]
  run --separate-stderr discipline --min-sources 0
  [ "$status" -eq 64 ]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
  run --separate-stderr discipline --panic soon
  [ "$status" -eq 64 ]
  [[ "$stderr" == "discipline: --panic: "* ]]
  run --separate-stderr discipline --max-jitter wide
  [ "$status" -eq 64 ]
  [[ "$stderr" == "discipline: --max-jitter: "* ]]
  run --separate-stderr discipline --minpoll 8 --maxpoll 6
  [ "$status" -eq 64 ]
  [ "$stderr" = "discipline: --maxpoll: 6 is below --minpoll 8" ]
  run --separate-stderr discipline extra
  [ "$status" -eq 64 ]
}

@test "discipline: exactly one adjust per sample, with the sample's time" {
  samples 10 > "$BATS_TEST_TMPDIR/in.cbor"
  run --separate-stderr sh -c "discipline < '$BATS_TEST_TMPDIR/in.cbor' | timecat -o json"
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "$output" | grep -c '"type":"adjust"')" -eq 10 ]
  [ "$(printf '%s\n' "$output" | grep -c '"type":"tracking"')" -eq 10 ]
  printf '%s\n' "$output" | head -2 | grep -q '"type":"adjust","source":"ntp://192.0.2.1:123","time":1700000000000000000,"frequency":0.0,"slew":0.01,'
}

@test "discipline: a recorded stream replays byte for byte" {
  samples 40 > "$BATS_TEST_TMPDIR/in.cbor"
  discipline < "$BATS_TEST_TMPDIR/in.cbor" > "$BATS_TEST_TMPDIR/a.cbor"
  discipline < "$BATS_TEST_TMPDIR/in.cbor" > "$BATS_TEST_TMPDIR/b.cbor"
  [ -s "$BATS_TEST_TMPDIR/a.cbor" ]
  cmp "$BATS_TEST_TMPDIR/a.cbor" "$BATS_TEST_TMPDIR/b.cbor"
}

@test "discipline: bad input is one line naming the byte, EX_DATAERR" {
  { samples 1; printf '\xff\xff'; } > "$BATS_TEST_TMPDIR/bad.cbor"
  run --separate-stderr discipline -o json < "$BATS_TEST_TMPDIR/bad.cbor"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "discipline: stdin: byte "*": "* ]]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
  [ "$(printf '%s\n' "$output" | grep -c '"type":"adjust"')" -eq 1 ]  # what came before is out
  printf '{"v":1,"type":"sample","source":"ntp://x","time":1,"offset":"soon","delay":0,"dispersion":0,"stratum":2,"leap":0,"refid":"","poll":6}\n' |
    timecat -i json -o cbor > "$BATS_TEST_TMPDIR/bad2.cbor"
  run --separate-stderr discipline -o json < "$BATS_TEST_TMPDIR/bad2.cbor"
  [ "$status" -eq 65 ]
  [ "$stderr" = 'discipline: stdin: byte 0: sample: "offset": not a number' ]
}

@test "discipline --panic: a refusal, then one line and EX_SOFTWARE" {
  samples 1 -5000 > "$BATS_TEST_TMPDIR/in.cbor"
  run --separate-stderr discipline -o json < "$BATS_TEST_TMPDIR/in.cbor"
  [ "$status" -eq 70 ]
  [ "$stderr" = "discipline: panic: the clock is 5000 s off (ntp://192.0.2.1:123), beyond --panic 1000 s; not corrected" ]
  printf '%s\n' "$output" | head -1 | grep -q '"type":"refusal"'
  run --separate-stderr discipline -o json --panic 2h < "$BATS_TEST_TMPDIR/in.cbor"
  [ "$status" -eq 0 ]
  printf '%s\n' "$output" | grep -q '"step":-5000.0'
}

@test "discipline -v: steps and synchronisation said on standard error" {
  samples 3 0.5 > "$BATS_TEST_TMPDIR/in.cbor"
  run --separate-stderr discipline -v -o json < "$BATS_TEST_TMPDIR/in.cbor"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"discipline: synchronised to ntp://192.0.2.1:123"* ]]
  [[ "$stderr" == *"discipline: step +0.500000000 s: offset 0.5 s above --step-threshold 0.128 s in update 1"* ]]
  run --separate-stderr discipline -o json < "$BATS_TEST_TMPDIR/in.cbor"
  [ -z "$stderr" ]
}

@test "discipline --driftfile: written at exit, read at start" {
  samples 20 > "$BATS_TEST_TMPDIR/in.cbor"
  drift=$BATS_TEST_TMPDIR/drift
  discipline --driftfile "$drift" < "$BATS_TEST_TMPDIR/in.cbor" > /dev/null
  [ -s "$drift" ]
  grep -Eq '^-?[0-9]+\.[0-9]{6} [0-9]+\.[0-9]{6}$' "$drift"
  echo "-33.250000 0.100000" > "$drift"
  samples 1 > "$BATS_TEST_TMPDIR/one.cbor"
  run --separate-stderr sh -c "discipline --driftfile '$drift' < '$BATS_TEST_TMPDIR/one.cbor' | timecat -o json"
  [ "$status" -eq 0 ]
  printf '%s\n' "$output" | grep -q '"type":"adjust".*"frequency":-33.25,'
  echo "garbage" > "$drift"
  run --separate-stderr discipline --driftfile "$drift" < /dev/null
  [ "$status" -eq 65 ]
  [[ "$stderr" == "discipline: $drift: not a frequency in ppm"* ]]
}

@test "discipline --driftfile: written once an hour of record time, not only at exit" {
  drift=$BATS_TEST_TMPDIR/drift
  { samples 120; samples 1 -5000; } > "$BATS_TEST_TMPDIR/in.cbor"
  # 120 samples 64 s apart (2 h 8 min), then a sample at their start 5000 s off: --panic stops
  # discipline before its end, so only the hourly write can have made the file.
  run --separate-stderr discipline --driftfile "$drift" < "$BATS_TEST_TMPDIR/in.cbor"
  [ "$status" -eq 70 ]
  [ -s "$drift" ]
  run --separate-stderr discipline --driftfile "$BATS_TEST_TMPDIR/short" < <(samples 30; samples 1 -5000)
  [ "$status" -eq 70 ]
  [ ! -e "$BATS_TEST_TMPDIR/short" ]  # 32 minutes: not yet
}

@test "discipline --leapfile: tzdata's file is accepted, a tampered one refused" {
  run --separate-stderr discipline --leapfile "$TESTS_DIR/data/leap-seconds.list" < /dev/null
  [ "$status" -eq 0 ]
  sed 's/^2272060800/2272060801/' "$TESTS_DIR/data/leap-seconds.list" > "$BATS_TEST_TMPDIR/bad.list"
  run --separate-stderr discipline --leapfile "$BATS_TEST_TMPDIR/bad.list" < /dev/null
  [ "$status" -eq 65 ]
  [[ "$stderr" == "discipline: $BATS_TEST_TMPDIR/bad.list: line "*": SHA-1 mismatch" ]]
}

@test "discipline: ntp-query --follow against ntp-serve on loopback gives adjust records" {
  require_cmd ntp-query
  require_cmd ntp-serve
  port=$(free_port)
  ntp-serve -l "127.0.0.1:$port" -s 2 2>"$BATS_TEST_TMPDIR/ntp-serve.log" &
  track_pid $!
  wait_udp_bound "$port"
  run --separate-stderr sh -c "ntp-query --follow -n 4 --minpoll -4 -o cbor 127.0.0.1:$port | discipline -o json"
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "$output" | grep -c '"type":"adjust"')" -eq 4 ]
  printf '%s\n' "$output" | grep '"type":"tracking"' | tail -1 | grep -q '"stratum":3,"refid":"127.0.0.1"'
}

teardown() { kill_tracked; }
