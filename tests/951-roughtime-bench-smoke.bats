#!/usr/bin/env bats
# The Roughtime benchmark machinery works: roughtime-loadgen gets replies from a real
# roughtime-serve on loopback and proves them correct with verify_response, reports them,
# catches replies that do not verify, refuses bad arguments, and bench/roughtime-serve-bench
# runs end to end. Not a timing test: no figure is compared with a goal here.
load common

LOADGEN=$TIMEPIPE_BUILD/bin-bench/roughtime-loadgen

setup() {
  [ -x "$LOADGEN" ] || { echo "missing $LOADGEN: make $LOADGEN (built by make loadgen and make bench)" >&2; return 1; }
  [ -x "$TIMEPIPE_BUILD/bin/roughtime-serve" ] || { echo "missing roughtime-serve in $TIMEPIPE_BUILD/bin" >&2; return 1; }
}

# start_server [ARG...]: roughtime-serve on a free loopback port with a fresh key.
# Sets PORT, PUBKEY (base64) and KEYDIR.
start_server() {
  KEYDIR=$(mktemp -d "$BATS_TEST_TMPDIR/rt.XXXX")
  roughtime-serve --keygen "$KEYDIR/key" > "$KEYDIR/pub"
  PUBKEY=$(sed -n 's/^public key (base64): //p' "$KEYDIR/pub")
  [ -n "$PUBKEY" ]
  PORT=$(free_port)
  roughtime-serve --key "$KEYDIR/key" --listen "127.0.0.1:$PORT" --tcp off "$@" > "$KEYDIR/log" 2>&1 &
  track_pid $!
  wait_udp_bound "$PORT"
}

# json_field JSON KEY: one value out of the loadgen's JSON object, with Debian's python.
json_field() {
  /usr/bin/python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

@test "roughtime-loadgen against roughtime-serve: verified replies, none failed, JSON parses" {
  start_server
  run "$LOADGEN" --json -c 80 -s 2 -d 1 --verify-every 16 --sample 64 "127.0.0.1:$PORT" "$PUBKEY"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  /usr/bin/python3 -c '
import json, sys
o = json.loads(sys.argv[1])
for k in ("sent", "received", "valid", "lost", "late", "invalid", "responses_per_s", "verified", "failed",
          "sample_verified", "sample_failed", "verify_us_per_response", "latency_p50_us", "cpu_s"):
    assert k in o, k
assert o["versions"] == "rfc", o
assert o["valid"] > 0 and o["invalid"] == 0, o
assert o["verified"] > 0 and o["failed"] == 0, o
assert o["sample_verified"] == min(64, o["valid"]) and o["sample_failed"] == 0, o
assert o["verify_us_per_response"] > 0, o
assert o["received"] >= o["valid"] and o["sent"] >= o["valid"], o
' "$output"
}

@test "roughtime-loadgen: every version, batching off, text line" {
  start_server --batch-size 1
  for v in rfc draft-12 draft-11 draft-08 google ietf; do
    run "$LOADGEN" -c 4 -s 1 -n 40 -d 5 --verify-every 1 --sample 8 --version-set "$v" "127.0.0.1:$PORT" "$PUBKEY"
    echo "$v: $status: $output"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == "127.0.0.1:$PORT: "*"valid 40 "*"verified 40, failed 0; sample verified 8/8 "* ]]
  done
}

@test "roughtime-loadgen -n stops after that many valid replies" {
  start_server
  run "$LOADGEN" --json -n 300 -c 16 -s 4 -d 10 "127.0.0.1:$PORT" "$PUBKEY"
  [ "$status" -eq 0 ]
  [ "$(json_field "$output" valid)" -eq 300 ]
  /usr/bin/python3 -c 'import json, sys; assert json.loads(sys.argv[1])["elapsed_s"] < 5' "$output"
}

@test "roughtime-loadgen with the wrong public key: replies fail verification, exit 76" {
  start_server
  other=$(mktemp -d "$BATS_TEST_TMPDIR/other.XXXX")
  roughtime-serve --keygen "$other/key" > "$other/pub"
  wrong=$(sed -n 's/^public key (hex): //p' "$other/pub")
  # SRV names the wrong key, so the server drops the requests: no valid reply at all.
  run "$LOADGEN" -c 2 -s 1 -d 0.5 -t 100ms "127.0.0.1:$PORT" "$wrong"
  [ "$status" -eq 69 ]
  [[ ${lines[-1]} == "roughtime-loadgen: 127.0.0.1:$PORT: no valid reply" ]]
  # Google-Roughtime has no SRV: answered, and the DELE signature fails under the wrong key.
  run "$LOADGEN" --json -c 2 -s 1 -n 10 -d 5 --verify-every 1 --sample 4 --version-set google "127.0.0.1:$PORT" "$wrong"
  echo "$output"
  [ "$status" -eq 76 ]
  [ "$(json_field "${lines[0]}" failed)" -eq 10 ]
  [ "$(json_field "${lines[0]}" verified)" -eq 0 ]
  [ "$(json_field "${lines[0]}" first_failure)" = "DELE signature does not verify" ]
  [[ ${lines[-1]} == "roughtime-loadgen: 127.0.0.1:$PORT: 14 replies failed verification: DELE signature does not verify" ]]
}

@test "roughtime-loadgen with nobody listening: one line, exit 69, within its duration" {
  start_server  # for a valid key only
  p=$(free_port)
  run "$LOADGEN" -c 2 -s 1 -d 0.5 -o json "127.0.0.1:$p" "$PUBKEY"
  [ "$status" -eq 69 ]
  [[ ${lines[-1]} == "roughtime-loadgen: 127.0.0.1:$p: no valid reply"* ]]
  [ "$(json_field "${lines[0]}" valid)" -eq 0 ]
}

@test "roughtime-loadgen bad arguments: one line on stderr, exit 64" {
  k=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
  for args in "" "127.0.0.1:2002" "-c 0 127.0.0.1:2002 $k" "-c 5000 127.0.0.1:2002 $k" \
              "-d abc 127.0.0.1:2002 $k" "-d 0 127.0.0.1:2002 $k" "-d 601 127.0.0.1:2002 $k" \
              "-s x 127.0.0.1:2002 $k" "-n -1 127.0.0.1:2002 $k" "-t 1us 127.0.0.1:2002 $k" \
              "--version-set draft-99 127.0.0.1:2002 $k" "--version-set rfc,google 127.0.0.1:2002 $k" \
              "--verify-every x 127.0.0.1:2002 $k" "--sample -1 127.0.0.1:2002 $k" \
              "-o cbor 127.0.0.1:2002 $k" "--bogus 127.0.0.1:2002 $k" "-c" \
              "127.0.0.1:2002 notakey" "127.0.0.1:2002 $k extra" "127.0.0.1:99999 $k" "127.0.0.1:0 $k" "[::1 $k"; do
    run "$LOADGEN" $args
    echo "args: $args -> $status: $output"
    [ "$status" -eq 64 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ ${lines[0]} == roughtime-loadgen:* ]]
  done
}

@test "roughtime-loadgen -h prints usage and exits 0" {
  run "$LOADGEN" -h
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == usage:* ]]
}

@test "roughtime-serve-bench --quick measures both configurations and prints the verdict" {
  require_cmd taskset
  run "$TESTS_DIR/../bench/roughtime-serve-bench" --quick
  echo "$output"
  [ "$status" -eq 0 ]
  grep -Eq '^batching on \(--batch-size 64\) +[0-9]+ +[0-9.]+ +[0-9]+ ' <<< "$output"
  grep -Eq '^batching off \(--batch-size 1\) +[0-9]+ +[0-9.]+ +[0-9]+ ' <<< "$output"
  grep -Eq '^client verification \(verify_response.*: [0-9.]+ us CPU' <<< "$output"
  grep -Eq '^batching on: [0-9]+ verified-correct responses/s per server core .* goal >= 100000 +(PASS|MISS)' <<< "$output"
  # the replies were verified and none failed, in both configurations
  /usr/bin/python3 - "$output" <<'PY'
import re, sys
rows = [l for l in sys.argv[1].splitlines() if l.startswith("batching o") and "(--batch-size" in l]
assert len(rows) == 2, rows
for r in rows:
    f = r.split(")")[1].split()
    verified, failed = int(f[5]), int(f[6])
    assert verified > 0 and failed == 0, r
PY
}

@test "roughtime-serve-bench bad arguments: exit 64" {
  run "$TESTS_DIR/../bench/roughtime-serve-bench" -d x
  [ "$status" -eq 64 ]
  [ "${#lines[@]}" -eq 1 ]
  run "$TESTS_DIR/../bench/roughtime-serve-bench" --bogus
  [ "$status" -eq 64 ]
  run "$TESTS_DIR/../bench/roughtime-serve-bench" -r 0
  [ "$status" -eq 64 ]
}
