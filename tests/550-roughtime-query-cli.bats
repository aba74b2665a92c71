#!/usr/bin/env bats
# roughtime-query: options, exit statuses and error lines, without a server: bad options and
# keys (64), names that do not resolve (68), refused and silent ports (69, with retries and
# backoff).
bats_require_minimum_version 1.5.0
load common

KEY=AW5uAoTSTDfG5NfY1bTh08GUnOqlRb+HVhbJ3ODJvsE=

setup() {
  require_cmd roughtime-query
}

# silent_server PORT: a UDP socket on 127.0.0.1:PORT that reads and never answers.
silent_server() {
  /usr/bin/python3 - "$1" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    s.recvfrom(4096)
PY
  track_pid $!
  wait_udp_bound "$1"
}

@test "--help and -h print usage on stdout and exit 0" {
  run --separate-stderr roughtime-query --help
  [ "$status" -eq 0 ]
  [[ "$output" == usage:\ roughtime-query* ]]
  for opt in --tcp --version-set --retries --report --check-report --verify-exchange --pick; do
    [[ "$output" == *"$opt"* ]]
  done
  [ -z "$stderr" ]
  run roughtime-query -h
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
}

@test "-V prints the version" {
  run roughtime-query -V
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^roughtime-query\ [0-9] ]]
}

@test "bad options are one line on stderr and EX_USAGE" {
  for args in "--bogus 127.0.0.1:2002 $KEY" "-q 127.0.0.1:2002 $KEY" "-o xml 127.0.0.1:2002 $KEY" \
              "-t soon 127.0.0.1:2002 $KEY" "-n 0 127.0.0.1:2002 $KEY" "--retries -1 127.0.0.1:2002 $KEY" \
              "--version-set draft13 127.0.0.1:2002 $KEY" "--version-set google,rfc 127.0.0.1:2002 $KEY" \
              "--tcp --version-set google 127.0.0.1:2002 $KEY" "127.0.0.1:2002" "" "-t" \
              "127.0.0.1:0 $KEY" "[::1 $KEY" "--pick 3 127.0.0.1:2002 $KEY" "--verify-exchange a b" \
              "--check-report x y"; do
    run --separate-stderr roughtime-query $args
    echo "args: $args -> $status: $stderr"
    [ "$status" -eq 64 ]
    [ -z "$output" ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == roughtime-query:\ * ]]
  done
  run --separate-stderr roughtime-query --version-set draft13 127.0.0.1:2002 "$KEY"
  [ "$stderr" = 'roughtime-query: --version-set: unknown version "draft13" (rfc, draft-12, draft-11, draft-08, google, ietf)' ]
  run --separate-stderr roughtime-query -t soon 127.0.0.1:2002 "$KEY"
  [ "$stderr" = 'roughtime-query: -t: bad duration "soon": not a number' ]
}

@test "a bad public key: EX_USAGE, one line saying why" {
  run --separate-stderr roughtime-query 127.0.0.1:2002 'not a key!'
  [ "$status" -eq 64 ]
  [ "$stderr" = "roughtime-query: public key: not base64 or hex" ]
  run --separate-stderr roughtime-query 127.0.0.1:2002 AAAA
  [ "$status" -eq 64 ]
  [ "$stderr" = "roughtime-query: public key: not 32 bytes but 3" ]
  # hex is accepted as well as base64: this one gets as far as the (refused) port
  port=$(free_port)
  run --separate-stderr roughtime-query -o json --retries 0 "127.0.0.1:$port" \
    016e6e0284d24c37c6e4d7d8d5b4e1d3c1949ceaa545bf875616c9dce0c9bec1
  [ "$status" -eq 69 ]
}

@test "a name that does not resolve: EX_NOHOST with the name and the reason" {
  run --separate-stderr roughtime-query -o json nonexistent.invalid:2002 "$KEY"
  [ "$status" -eq 68 ]
  [ "$stderr" = "roughtime-query: nonexistent.invalid:2002: name or service not known" ]
  [ -z "$output" ]
}

@test "a refused port: EX_UNAVAILABLE after every try, at once" {
  port=$(free_port)
  start=$(date +%s%N)
  run --separate-stderr roughtime-query -o json -t 2s "127.0.0.1:$port" "$KEY"
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$status" -eq 69 ]
  [ "$stderr" = "roughtime-query: 127.0.0.1:$port: no answer after 3 tries (connection refused)" ]
  [ -z "$output" ]
  [ "$elapsed" -lt 2000 ]
}

@test "a silent server: retries with backoff (t, 2t, 4t), then EX_UNAVAILABLE" {
  port=$(free_port)
  silent_server "$port"
  start=$(date +%s%N)
  run --separate-stderr roughtime-query -o json -t 200ms --retries 2 "127.0.0.1:$port" "$KEY"
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "elapsed ${elapsed} ms: $stderr"
  [ "$status" -eq 69 ]
  [ "$stderr" = "roughtime-query: 127.0.0.1:$port: no answer after 3 tries" ]
  [ -z "$output" ]
  [ "$elapsed" -ge 1400 ] && [ "$elapsed" -lt 2600 ]   # 200 + 400 + 800 ms
  run --separate-stderr roughtime-query -o json -t 100ms --retries 0 "127.0.0.1:$port" "$KEY"
  [ "$status" -eq 69 ]
  [ "$stderr" = "roughtime-query: 127.0.0.1:$port: no answer after 1 try" ]
}

@test "a silent TCP port: EX_UNAVAILABLE naming the reason" {
  port=$(free_port)
  run --separate-stderr roughtime-query -o json --tcp -t 100ms --retries 1 "127.0.0.1:$port" "$KEY"
  [ "$status" -eq 69 ]
  [ "$stderr" = "roughtime-query: 127.0.0.1:$port: no answer after 2 tries (connection refused)" ]
}

@test "-l: a missing list is EX_NOINPUT, a malformed one EX_DATAERR, fewer than 3 servers EX_USAGE" {
  run --separate-stderr roughtime-query -o json -l "$BATS_TEST_TMPDIR/none.json"
  [ "$status" -eq 66 ]
  [[ "$stderr" == "roughtime-query: $BATS_TEST_TMPDIR/none.json: "* ]]
  echo '{"servers": [{"name": "x"}]}' > "$BATS_TEST_TMPDIR/bad.json"
  run --separate-stderr roughtime-query -o json -l "$BATS_TEST_TMPDIR/bad.json"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "roughtime-query: $BATS_TEST_TMPDIR/bad.json: servers[0]"* ]]
  cat > "$BATS_TEST_TMPDIR/two.json" <<JSON
{"servers": [
 {"name": "a", "version": 1, "publicKeyType": "ed25519", "publicKey": "$KEY",
  "addresses": [{"protocol": "udp", "address": "127.0.0.1:1"}]},
 {"name": "b", "version": 1, "publicKeyType": "ed25519", "publicKey": "$KEY",
  "addresses": [{"protocol": "udp", "address": "127.0.0.1:2"}]}]}
JSON
  run --separate-stderr roughtime-query -o json -l "$BATS_TEST_TMPDIR/two.json"
  [ "$status" -eq 64 ]
  [ "$stderr" = "roughtime-query: $BATS_TEST_TMPDIR/two.json: 2 servers: a measurement sequence needs at least 3 (RFC 10049 §8.2)" ]
}
