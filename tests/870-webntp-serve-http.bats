#!/usr/bin/env bats
# webntp-serve(8) over plain HTTP with curl as the independent client: the JSON line's exact
# bytes for a table of client timestamps (rounding with carry), HEAD with X-HTTPSTIME, CORS,
# keep-alive and pipelining in order, 400 for an unparsable query, the leap-seconds list
# (current, expired, corrupt, reloaded on SIGHUP), options.
bats_require_minimum_version 1.5.0
load common
load 870-webntp-lib

setup() {
  require_cmd webntp-serve
  require_cmd curl
}

@test "webntp-serve -h, -V, bad options" {
  run --separate-stderr webntp-serve -h
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
  [[ "$output" == *--allow-cross-origin* ]]
  run --separate-stderr webntp-serve -V
  [ "$status" -eq 0 ]
  [[ "$output" == "webntp-serve "* ]]
  run --separate-stderr webntp-serve --max-connections 0
  [ "$status" -eq 64 ]
  run --separate-stderr webntp-serve --cert /dev/null
  [ "$status" -eq 64 ]
  [ "$stderr" = "webntp-serve: --cert and --key go together" ]
  run --separate-stderr webntp-serve extra
  [ "$status" -eq 64 ]
  run --separate-stderr webntp-serve -l 'x y:1'
  [ "$status" -eq 64 ]
  [[ "$stderr" == "webntp-serve: --listen x y:1: "* ]]
}

@test "GET: exact JSON bytes for a table of client timestamps, with the rounding carry" {
  wserve_start
  # query -> the "it" webntp-serve must print (6 decimals, correctly rounded, carry)
  while read -r q want; do
    run curl -sS -D "$BATS_TEST_TMPDIR/h" "http://127.0.0.1:$WS_PORT/json?$q"
    [ "$status" -eq 0 ]
    echo "$q -> $output"
    [[ "$output" =~ $(JSON_RE "$want") ]]
    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]  # st = time
    grep -q $'^HTTP/1.1 200 OK\r$' "$BATS_TEST_TMPDIR/h"
    grep -q $'^Content-Type: application/json\r$' "$BATS_TEST_TMPDIR/h"
    grep -q $'^Cache-Control: no-cache, no-store\r$' "$BATS_TEST_TMPDIR/h"
    ! grep -qi '^Access-Control-Allow-Origin' "$BATS_TEST_TMPDIR/h"
  done <<'TABLE'
1.9999996 2.000000
1.9999994 1.999999
1700000000.1234567 1700000000.123457
1700000000.123456 1700000000.123456
1700000000 1700000000.000000
0.0000005 0.000001
-0.5 -0.500000
1499999999.9999999 1500000000.000000
TABLE
  # No query: it 0 (as go-webntp); any path
  run curl -sS "http://127.0.0.1:$WS_PORT/some/where"
  [[ "$output" =~ $(JSON_RE 0.000000) ]]
  # The served time is this machine's clock.
  now=$(date +%s)
  st=${BASH_REMATCH[1]%.*}
  [ $((st - now)) -le 2 ] && [ $((now - st)) -le 2 ]
}

@test "GET: an unparsable query gets 400 with a one-line reason and the connection closes" {
  wserve_start
  run curl -sS -D "$BATS_TEST_TMPDIR/h" "http://127.0.0.1:$WS_PORT/?12abc"
  [ "$status" -eq 0 ]
  [[ "$output" == "query: "* ]]
  [ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ]
  grep -q $'^HTTP/1.1 400 Bad Request\r$' "$BATS_TEST_TMPDIR/h"
  grep -q $'^Connection: close\r$' "$BATS_TEST_TMPDIR/h"
  # ... and the server answers the next client.
  run curl -sS "http://127.0.0.1:$WS_PORT/?1"
  [[ "$output" =~ $(JSON_RE 1.000000) ]]
}

@test "HEAD /.well-known/time: 204 with X-HTTPSTIME; CORS only with --allow-cross-origin" {
  wserve_start
  run curl -sS -I "http://127.0.0.1:$WS_PORT/.well-known/time"
  [ "$status" -eq 0 ]
  [[ "$output" == $'HTTP/1.1 204 No Content\r'* ]]
  [[ "$output" =~ X-HTTPSTIME:\ ([0-9]+\.[0-9]{6}) ]]
  t=${BASH_REMATCH[1]%.*}
  now=$(date +%s)
  [ $((t - now)) -le 2 ] && [ $((now - t)) -le 2 ]
  [[ "$output" != *Access-Control-Allow-Origin* ]]
  kill "$WS_PID"
  wserve_start --allow-cross-origin
  run curl -sS -I "http://127.0.0.1:$WS_PORT/"
  [[ "$output" == *$'Access-Control-Allow-Origin: *\r'* ]]
  run curl -sS -D - -o /dev/null "http://127.0.0.1:$WS_PORT/?1"
  [[ "$output" == *$'Access-Control-Allow-Origin: *\r'* ]]
  run curl -sS -X POST "http://127.0.0.1:$WS_PORT/" -o /dev/null -w '%{http_code}'
  [ "$output" = 405 ]
}

@test "keep-alive: three pipelined requests in one write are answered in order on one connection" {
  wserve_start
  req=$(printf 'GET /?1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.1\r\nHost: b\r\n\r\nGET /?3.5 HTTP/1.1\r\nHost: c\r\n\r\n' | od -An -tx1 | tr -d ' \n')
  run raw_exchange "$WS_PORT" "$req" 1
  [ "$status" -eq 0 ]
  echo "$output"
  [[ "${lines[0]}" =~ ^\'HTTP/1.1\ 200\ OK.*\"id\":\"a\",\"it\":1.000000,.*HTTP/1.1\ 204\ No\ Content.*X-HTTPSTIME.*HTTP/1.1\ 200\ OK.*\"id\":\"c\",\"it\":3.500000, ]]
  [ "${lines[1]}" = open ]  # kept alive
  # curl reuses one connection for two URLs
  run curl -sS -v "http://127.0.0.1:$WS_PORT/?1" "http://127.0.0.1:$WS_PORT/?2"
  [[ "$output" == *"Re-using existing connection"* ]]
  # HTTP/1.0 without keep-alive: closed after the answer
  run raw_exchange "$WS_PORT" "$(printf 'GET /?1 HTTP/1.0\r\n\r\n' | od -An -tx1 | tr -d ' \n')" 2
  [ "${lines[1]}" = eof ]
}

@test "leap fields: a current list, an expired one and a corrupt one (said on stderr, served as unknown)" {
  make_leapfile "$BATS_TEST_TMPDIR/current.list"
  wserve_start --leapfile "$BATS_TEST_TMPDIR/current.list"
  run curl -sS "http://127.0.0.1:$WS_PORT/?1"
  [[ "$output" =~ $(JSON_RE 1.000000 36 1483228800.000000 1) ]]
  kill "$WS_PID"
  make_leapfile "$BATS_TEST_TMPDIR/expired.list" 1700000000
  wserve_start --leapfile "$BATS_TEST_TMPDIR/expired.list"
  run curl -sS "http://127.0.0.1:$WS_PORT/?1"
  [[ "$output" =~ $(JSON_RE 1.000000 0 0.000000 0) ]]
  grep -q "expired.list: expired (#@); leap seconds served as unknown (leap 0, next 0, step 0)" "$WS_ERR"
  kill "$WS_PID"
  make_leapfile "$BATS_TEST_TMPDIR/corrupt.list" 1900000000 corrupt
  wserve_start --leapfile "$BATS_TEST_TMPDIR/corrupt.list"
  run curl -sS "http://127.0.0.1:$WS_PORT/?1"
  [[ "$output" =~ $(JSON_RE 1.000000 0 0.000000 0) ]]
  grep -q "corrupt.list: line [0-9]*: SHA-1 mismatch; leap seconds served as unknown" "$WS_ERR"
  # SIGHUP reads the list again: a good list replaces the corrupt one.
  make_leapfile "$BATS_TEST_TMPDIR/corrupt.list" 1900000000
  kill -HUP "$WS_PID"
  for i in $(seq 50); do grep -q "SIGHUP: .*corrupt.list read again" "$WS_ERR" && break; sleep 0.1; done
  run curl -sS "http://127.0.0.1:$WS_PORT/?1"
  [[ "$output" =~ $(JSON_RE 1.000000 36 1483228800.000000 1) ]]
  # A missing list is said too, and the server still serves.
  kill "$WS_PID"
  wserve_start --leapfile "$BATS_TEST_TMPDIR/none.list"
  run curl -sS "http://127.0.0.1:$WS_PORT/?1"
  [[ "$output" =~ $(JSON_RE 1.000000 0 0.000000 0) ]]
  grep -q "none.list: .*; leap seconds served as unknown" "$WS_ERR"
}

@test "SIGUSR1 and exit: counters on stderr" {
  wserve_start
  curl -sS "http://127.0.0.1:$WS_PORT/?1" > /dev/null
  curl -sS -I "http://127.0.0.1:$WS_PORT/" > /dev/null
  curl -sS "http://127.0.0.1:$WS_PORT/?x" > /dev/null
  kill -USR1 "$WS_PID"
  for i in $(seq 50); do grep -q "counters:" "$WS_ERR" && break; sleep 0.1; done
  grep -q "webntp-serve: counters: connections=3 .* json=1 head=1 .* bad_requests=1 " "$WS_ERR"
  kill "$WS_PID"
  wait "$WS_PID" || true
  grep -q "webntp-serve: exiting: connections=3 " "$WS_ERR"
}
