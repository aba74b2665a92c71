#!/usr/bin/env bats
# The benchmark machinery works: ntp-loadgen gets valid replies from a chronyd on loopback and
# reports them, refuses bad arguments, and the comparison script runs end to end.
# Not a timing test: no figure is compared with a goal here.
load common

LOADGEN=$TIMEPIPE_BUILD/bin-bench/ntp-loadgen

setup() {
  [ -x "$LOADGEN" ] || { echo "missing $LOADGEN: make $LOADGEN (built by make bench)" >&2; return 1; }
}

# json_field JSON KEY: one value out of the loadgen's JSON object, with Debian's python.
json_field() {
  /usr/bin/python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

@test "loadgen against chronyd: valid replies, few lost, JSON parses" {
  p=$(free_port)
  start_chronyd_server "$p" 2
  run "$LOADGEN" --json -c 8 -s 2 -d 1 "127.0.0.1:$p"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  /usr/bin/python3 -c '
import json, sys
o = json.loads(sys.argv[1])
for k in ("sent", "received", "valid", "kod", "lost", "responses_per_s",
          "latency_p50_us", "latency_p99_us", "cpu_s", "cpu_us_per_response"):
    assert k in o, k
assert o["valid"] > 0, o
assert o["kod"] == 0 and o["invalid"] == 0, o
assert o["lost"] <= max(3, o["sent"] // 100), o       # loopback: next to nothing is lost
assert o["received"] >= o["valid"] and o["sent"] >= o["valid"], o
assert 0 < o["latency_p50_us"] <= o["latency_p99_us"], o
assert o["responses_per_s"] > 0 and o["cpu_s"] > 0, o
' "$output"
}

@test "loadgen prints one summary line in text" {
  p=$(free_port)
  start_chronyd_server "$p" 2
  run "$LOADGEN" -c 4 -s 1 -d 0.3 "127.0.0.1:$p"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ $output == "127.0.0.1:$p: "*"valid "*"lost "*"p50 "*"p99 "*"loadgen cpu "* ]]
}

@test "loadgen -n stops after that many exchanges" {
  p=$(free_port)
  start_chronyd_server "$p" 2
  run "$LOADGEN" --json -n 500 -c 16 -s 4 -d 10 "127.0.0.1:$p"
  [ "$status" -eq 0 ]
  [ "$(json_field "$output" valid)" -eq 500 ]
  # it stopped on the count, not on the 10 s duration
  /usr/bin/python3 -c 'import json, sys; assert json.loads(sys.argv[1])["elapsed_s"] < 5' "$output"
}

@test "loadgen -S: each socket its own loopback address, all answered" {
  p=$(free_port)
  start_chronyd_server "$p" 2
  run "$LOADGEN" --json -S -s 8 -c 16 -d 0.5 "127.0.0.1:$p"
  [ "$status" -eq 0 ]
  [ "$(json_field "$output" valid)" -gt 0 ]
  [ "$(json_field "$output" sockets)" -eq 8 ]
  run "$LOADGEN" -S -d 0.5 "[::1]:$p"
  [ "$status" -eq 64 ]
  [ "${#lines[@]}" -eq 1 ]
}

@test "loadgen -r paces new requests (wide bounds: a feature check, not a timing goal)" {
  p=$(free_port)
  start_chronyd_server "$p" 2
  run "$LOADGEN" --json -r 2000 -d 1 "127.0.0.1:$p"
  [ "$status" -eq 0 ]
  /usr/bin/python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["rate_limit"] == 2000, o
assert 500 <= o["valid"] <= 2100, o   # unpaced, loopback chronyd answers 100x as many
' "$output"
}

@test "loadgen with nobody listening: one line, exit 69, within its duration" {
  p=$(free_port)
  run "$LOADGEN" -c 2 -s 1 -d 0.5 -o json "127.0.0.1:$p"
  [ "$status" -eq 69 ]
  [[ ${lines[-1]} == "ntp-loadgen: 127.0.0.1:$p: no valid reply"* ]]
  [ "$(json_field "${lines[0]}" valid)" -eq 0 ]
}

@test "loadgen bad arguments: one line on stderr, exit 64" {
  for args in "" "-c 0 127.0.0.1:123" "-c 5000 127.0.0.1:123" "-d abc 127.0.0.1:123" \
              "-d 0 127.0.0.1:123" "-d 601 127.0.0.1:123" "-s x 127.0.0.1:123" "-n -1 127.0.0.1:123" \
              "-t 1us 127.0.0.1:123" "-r 0 127.0.0.1:123" "-r x 127.0.0.1:123" "-o cbor 127.0.0.1:123" "--bogus 127.0.0.1:123" "-c" \
              "127.0.0.1:123 127.0.0.1:124" "127.0.0.1:99999" "127.0.0.1:0" "[::1"; do
    run "$LOADGEN" $args
    echo "args: $args -> $status: $output"
    [ "$status" -eq 64 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ ${lines[0]} == ntp-loadgen:* ]]
  done
}

@test "loadgen -h prints usage and exits 0" {
  run "$LOADGEN" -h
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == usage:* ]]
}

@test "ntp-serve-vs-chronyd --quick measures both servers and prints the ratio" {
  require_cmd taskset
  [ -x "$TIMEPIPE_BUILD/bin/ntp-serve" ] || { echo "missing ntp-serve in $TIMEPIPE_BUILD/bin" >&2; return 1; }
  run "$TESTS_DIR/../bench/ntp-serve-vs-chronyd" --quick
  echo "$output"
  [ "$status" -eq 0 ]
  grep -Eq '^ntp-serve +[0-9]+ +[0-9.]+ ' <<< "$output"
  grep -Eq '^chronyd \(default\) +[0-9]+ +[0-9.]+ ' <<< "$output"
  grep -Eq '^chronyd \(noclientlog\) +[0-9]+ +[0-9.]+ ' <<< "$output"
  grep -Eq '^ratio ntp-serve / chronyd \(default\) +[0-9.]+ +goal <= 0.75 +(PASS|MISS)' <<< "$output"
}

@test "ntp-serve-vs-chronyd bad arguments: exit 64" {
  run "$TESTS_DIR/../bench/ntp-serve-vs-chronyd" -d x
  [ "$status" -eq 64 ]
  [ "${#lines[@]}" -eq 1 ]
  run "$TESTS_DIR/../bench/ntp-serve-vs-chronyd" --bogus
  [ "$status" -eq 64 ]
  run "$TESTS_DIR/../bench/ntp-serve-vs-chronyd" -R 0
  [ "$status" -eq 64 ]
}
