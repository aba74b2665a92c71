#!/usr/bin/env bats
# webntp-serve(8) with --cert/--key: HTTPS with curl and WSS with Python websockets, both
# trusting only the test CA (tests/make-test-pki); a client trusting another CA refuses it; a
# plain-HTTP client gets nothing; SIGHUP loads a new certificate and key.
bats_require_minimum_version 1.5.0
load common
load 870-webntp-lib

setup() {
  require_cmd webntp-serve
  require_cmd curl
  PKI=$BATS_TEST_TMPDIR/pki
  "$TESTS_DIR/make-test-pki" "$PKI"
}

@test "https: GET and HEAD with curl --cacert; another CA refused" {
  wserve_start --cert "$PKI/server.crt" --key "$PKI/server.key"
  grep -q "127.0.0.1:$WS_PORT: listening (HTTPS, WSS)" "$WS_ERR"
  run curl -sS --cacert "$PKI/ca.crt" "https://127.0.0.1:$WS_PORT/?1.9999996"
  [ "$status" -eq 0 ]
  [[ "$output" =~ $(JSON_RE 2.000000) ]]
  run curl -sS --cacert "$PKI/ca.crt" -I "https://localhost:$WS_PORT/.well-known/time"
  [[ "$output" == $'HTTP/1.1 204 No Content\r'* ]]
  [[ "$output" =~ X-HTTPSTIME:\ [0-9]+\.[0-9]{6} ]]
  # a TLS 1.2 client offering no ALPN is served too (HTTPS needs neither)
  run curl -sS --cacert "$PKI/ca.crt" --tlsv1.2 --tls-max 1.2 --no-alpn "https://127.0.0.1:$WS_PORT/?4"
  [ "$status" -eq 0 ]
  [[ "$output" =~ $(JSON_RE 4.000000) ]]
  run curl -sS --cacert "$PKI/other-ca.crt" "https://127.0.0.1:$WS_PORT/?1"
  [ "$status" -ne 0 ]
  run curl -sS -m 3 "http://127.0.0.1:$WS_PORT/?1"
  [ "$status" -ne 0 ]
  # still serving after the refusals
  run curl -sS --cacert "$PKI/ca.crt" "https://127.0.0.1:$WS_PORT/?3"
  [[ "$output" =~ $(JSON_RE 3.000000) ]]
}

@test "wss: Python websockets with and without the subprotocol (no ALPN offered)" {
  wserve_start --cert "$PKI/server.crt" --key "$PKI/server.key"
  run ws_client "wss://localhost:$WS_PORT/" --ca "$PKI/ca.crt" --proto webntp.shogo82148.com 1700000000.5
  echo "$output"
  [ "${lines[0]}" = "subprotocol webntp.shogo82148.com" ]
  [[ "${lines[1]}" =~ ^\{\"id\":\"localhost:$WS_PORT\",\"it\":1700000000.500000, ]]
  run ws_client "wss://127.0.0.1:$WS_PORT/" --ca "$PKI/ca.crt" 2
  [ "${lines[0]}" = "subprotocol None" ]
  [[ "${lines[1]}" =~ $(JSON_RE 2.000000) ]]
  run ws_client "wss://127.0.0.1:$WS_PORT/" --ca "$PKI/other-ca.crt" 2
  [[ "$output" == "refused: "*certificate* ]]
}

@test "SIGHUP: a new certificate and key are served; a broken pair keeps the old one" {
  cp "$PKI/server.crt" "$BATS_TEST_TMPDIR/cur.crt"
  cp "$PKI/server.key" "$BATS_TEST_TMPDIR/cur.key"
  wserve_start --cert "$BATS_TEST_TMPDIR/cur.crt" --key "$BATS_TEST_TMPDIR/cur.key"
  run curl -sS --cacert "$PKI/ca.crt" "https://127.0.0.1:$WS_PORT/?1"
  [[ "$output" =~ $(JSON_RE 1.000000) ]]
  "$TESTS_DIR/make-test-pki" "$BATS_TEST_TMPDIR/pki2"
  cp "$BATS_TEST_TMPDIR/pki2/server.crt" "$BATS_TEST_TMPDIR/cur.crt"
  cp "$BATS_TEST_TMPDIR/pki2/server.key" "$BATS_TEST_TMPDIR/cur.key"
  kill -HUP "$WS_PID"
  for i in $(seq 50); do grep -q "SIGHUP: certificate and key reloaded" "$WS_ERR" && break; sleep 0.1; done
  grep -q "SIGHUP: certificate and key reloaded" "$WS_ERR"
  run curl -sS --cacert "$BATS_TEST_TMPDIR/pki2/ca.crt" "https://127.0.0.1:$WS_PORT/?2"
  [[ "$output" =~ $(JSON_RE 2.000000) ]]
  run curl -sS --cacert "$PKI/ca.crt" "https://127.0.0.1:$WS_PORT/?2"
  [ "$status" -ne 0 ]
  # a key that does not match: said, and the certificate in use stays
  cp "$PKI/server.key" "$BATS_TEST_TMPDIR/cur.key"
  kill -HUP "$WS_PID"
  for i in $(seq 50); do grep -q "the old certificate stays" "$WS_ERR" && break; sleep 0.1; done
  grep -q "SIGHUP: .*(the old certificate stays)" "$WS_ERR"
  run curl -sS --cacert "$BATS_TEST_TMPDIR/pki2/ca.crt" "https://127.0.0.1:$WS_PORT/?4"
  [[ "$output" =~ $(JSON_RE 4.000000) ]]
}

@test "a missing certificate is an error before anything is bound" {
  run --separate-stderr webntp-serve -l 127.0.0.1:0 --cert "$BATS_TEST_TMPDIR/none.crt" --key "$PKI/server.key"
  [ "$status" -ne 0 ]
  [[ "$stderr" == webntp-serve:* ]]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
}
