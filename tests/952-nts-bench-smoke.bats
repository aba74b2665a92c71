#!/usr/bin/env bats
# The NTS benchmark machinery works: ntp-loadgen --nts runs a key exchange and then loads the
# NTP server it names with authenticated requests (nts-ke + ntp-serve, and chronyd's NTS server),
# counting only authenticated replies as valid; nts-ke-loadgen completes key exchanges and
# reports a refused one; bench/nts-vs-chronyd runs end to end.
# Not a timing test: no figure is compared with a goal here.
load common
load 750-nts-lib

LOADGEN=$TIMEPIPE_BUILD/bin-bench/ntp-loadgen
KE_LOADGEN=$TIMEPIPE_BUILD/bin-bench/nts-ke-loadgen

setup() {
  for b in "$LOADGEN" "$KE_LOADGEN"; do
    [ -x "$b" ] || { echo "missing $b (built by make loadgen)" >&2; return 1; }
  done
  nts_setup
}

teardown() { kill_tracked; }

json_field() {  # json_field JSON KEY
  /usr/bin/python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

@test "ntp-loadgen --nts against nts-ke + ntp-serve: every valid reply authenticated, ntp-serve counted them as NTS" {
  local ke port out
  ke=$(free_port); port=$(free_port)
  start_nts_server "$ke" "$port" "$BATS_TEST_TMPDIR/keys"
  out=$("$LOADGEN" --nts --ca-file "$PKI/ca.crt" --json -c 16 -n 2000 -d 10 "127.0.0.1:$ke")
  echo "$out"
  [ "$(json_field "$out" nts)" = True ]
  [ "$(json_field "$out" server)" = "127.0.0.1:$port" ]   # the NTP server the key exchange named
  [ "$(json_field "$out" valid)" -ge 2000 ]
  [ "$(json_field "$out" nts_invalid)" -eq 0 ]
  [ "$(json_field "$out" nts_nak)" -eq 0 ]
  [ "$(json_field "$out" invalid)" -eq 0 ]
  [ "$(json_field "$out" dropped_here)" -eq 0 ]   # closed loop: nothing dropped at our own sockets
  # each request spent a cookie and got one back: ntp-serve answered them all with NTS
  local line
  line=$(counters_of "$SERVE_PID" "$BATS_TEST_TMPDIR/ntp-serve.err")
  echo "$line"
  [ "$(counter nts "$line")" -ge 2000 ]
  [ "$(counter nts_nak "$line")" -eq 0 ]
}

@test "ntp-loadgen --nts against chronyd's NTS server: authenticated replies; text line counts NAKs and failures" {
  local ke port out
  ke=$(free_port); port=$(free_port)
  start_chronyd_nts_server "$port" "$ke" "$PKI"
  run "$LOADGEN" --nts --ca-file "$PKI/ca.crt" -c 8 -n 500 -d 10 "127.0.0.1:$ke"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == "127.0.0.1:$port: "*", NTS NAK 0, unauthenticated 0; latency"* ]]
  [[ "$output" =~ valid\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 500 ]
}

@test "ntp-loadgen --nts: a refused key exchange or an untrusted certificate is one line; --ca-file needs --nts" {
  local ke
  ke=$(free_port)
  run "$LOADGEN" --nts --ca-file "$PKI/ca.crt" -d 1 "127.0.0.1:$ke"
  [ "$status" -eq 69 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "ntp-loadgen: 127.0.0.1:$ke: "*"refused"* ]]
  local port
  port=$(free_port)
  start_nts_server "$ke" "$port" "$BATS_TEST_TMPDIR/keys"
  run "$LOADGEN" --nts --ca-file "$PKI/other-ca.crt" -d 1 "127.0.0.1:$ke"
  [ "$status" -eq 76 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == "ntp-loadgen: "*"certificate"* ]]
  run "$LOADGEN" --ca-file "$PKI/ca.crt" "127.0.0.1:$port"
  [ "$status" -eq 64 ]
  [ "$output" = "ntp-loadgen: --ca-file: only with --nts" ]
}

@test "nts-ke-loadgen: complete key exchanges against nts-ke, none failed; an untrusted CA fails them all, exit 69" {
  local ke port out
  ke=$(free_port); port=$(free_port)
  start_nts_server "$ke" "$port" "$BATS_TEST_TMPDIR/keys"
  out=$("$KE_LOADGEN" --ca-file "$PKI/ca.crt" --json -c 2 -d 1 "127.0.0.1:$ke")
  echo "$out"
  [ "$(json_field "$out" handshakes)" -ge 5 ]
  [ "$(json_field "$out" failed)" -eq 0 ]
  [ "$(json_field "$out" concurrency)" -eq 2 ]
  run "$KE_LOADGEN" --ca-file "$PKI/other-ca.crt" -c 1 -d 0.5 "127.0.0.1:$ke"
  echo "$output"
  [ "$status" -eq 69 ]
  [[ "$output" == *" 0 key exchanges (0/s), "*" failed; "* ]]
  [[ "$output" == *"nts-ke-loadgen: 127.0.0.1:$ke: "*" key exchanges failed; the first: "*"certificate"* ]]
  [[ "$output" == *"nts-ke-loadgen: 127.0.0.1:$ke: no key exchange completed" ]]
  run "$KE_LOADGEN" -c 0 "127.0.0.1:$ke"
  [ "$status" -eq 64 ]
  [ "$output" = 'nts-ke-loadgen: -c: "0" is not a count from 1 to 64' ]
  run "$KE_LOADGEN" -h
  [ "$status" -eq 0 ]
  [[ "$output" == "usage: nts-ke-loadgen "* ]]
}

@test "nts-vs-chronyd --quick: NTS table and ratio at sat, the NTS-KE table, the summary; bad arguments exit 64" {
  require_cmd taskset
  require_cmd chronyd
  run "$TESTS_DIR/../bench/nts-vs-chronyd" --quick
  echo "$output"
  [ "$status" -eq 0 ]
  grep -Eq '^ntp-serve +[0-9]+ +[0-9.]+ +[0-9.]+% +0 +0 ' <<< "$output"   # none lost or unauthenticated
  # each run says where losses happened: the server's socket or the load generator's
  grep -Eq '^  ntp-serve .* lost 0 \(dropped at server 0, at load generator 0\)' <<< "$output"
  grep -Eq 'server drops +loadgen drops$' <<< "$output"
  grep -Eq '^chronyd +[0-9]+ +[0-9.]+ +[0-9.]+% ' <<< "$output"
  grep -Eq '^ratio ntp-serve / chronyd +[0-9.]+ +goal <= 0.70, none lost +(PASS|MISS)' <<< "$output"
  grep -Eq '^nts-ke +[0-9]+ +[0-9]+ +[0-9]+ +0$' <<< "$output"
  grep -Eq '^ratio nts-ke / chronyd handshakes per core-second +[0-9.]+$' <<< "$output"
  grep -Eq '^NTS load sat +ntp-serve/chronyd +[0-9.]+ +(PASS|MISS) ' <<< "$output"
  grep -Eq '^NTS-KE +nts-ke/chronyd +[0-9.]+ ' <<< "$output"
  run "$TESTS_DIR/../bench/nts-vs-chronyd" -L sat,,5
  [ "$status" -eq 64 ]
  [ "$output" = 'nts-vs-chronyd: -L: "sat,,5" has an empty load' ]
  run "$TESTS_DIR/../bench/nts-vs-chronyd" -K 0
  [ "$status" -eq 64 ]
  run "$TESTS_DIR/../bench/nts-vs-chronyd" -h
  [ "$status" -eq 0 ]
  [[ "$output" == *"handshakes per second of one server core"* ]]
}
