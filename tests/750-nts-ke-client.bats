#!/usr/bin/env bats
# nts-ke as a client against chronyd 4.3's NTS-KE server on loopback, and the ways a key
# exchange fails: an untrusted certificate, TLS 1.2, no ALPN, a refused port, a name that does
# not resolve — each one line on stderr and its sysexits code. Test certificates are made here
# with openssl(1).
load common
load 750-nts-lib

setup() {
  require_cmd nts-ke
  require_cmd openssl
  PKI=$BATS_TEST_TMPDIR/pki
  make_test_pki "$PKI"
}

teardown() { kill_tracked; }

@test "nts-ke against chronyd: TLS 1.3, ntske/1, AES-SIV-CMAC-256, its NTP port, 8 cookies" {
  local port ke
  port=$(free_port); ke=$(free_port)
  start_chronyd_nts_server "$port" "$ke" "$PKI"
  run nts-ke --ca-file "$PKI/ca.crt" "127.0.0.1:$ke"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "NTS-KE server  127.0.0.1:$ke (127.0.0.1:$ke)" ]]
  [[ "${lines[1]}" == "TLS            TLSv1.3 TLS_"*", group "*", ALPN ntske/1" ]]
  [[ "${lines[2]}" == "certificate    CN=localhost, issued by CN=timepipe test CA, expires 20"*" UTC" ]]
  [ "${lines[3]}" = "AEAD           AEAD_AES_SIV_CMAC_256 (15)" ]
  [ "${lines[4]}" = "NTP server     127.0.0.1:$port" ]   # chronyd sends a Port record for a port not 123
  [[ "${lines[5]}" == "cookies        8 (octets: "* ]]

  run nts-ke --ca-file "$PKI/ca.crt" -o json "localhost:$ke"
  [ "$status" -eq 0 ]
  /usr/bin/python3 - "$output" "$port" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
assert j["tls"]["version"] == "TLSv1.3" and j["tls"]["alpn"] == "ntske/1", j
assert j["aead_id"] == 15 and j["aead"] == "AEAD_AES_SIV_CMAC_256", j
assert j["ntp_server"] == "localhost" and j["ntp_port"] == int(sys.argv[2]), j
assert j["cookies"] == 8 and len(j["cookie_sizes"]) == 8 and all(s > 0 for s in j["cookie_sizes"]), j
assert j["certificate"]["subject"] == "CN=localhost" and j["certificate"]["not_after"] > 0, j
assert j["request_octets"] > 0 and j["response_octets"] > j["request_octets"], j
PY
}

@test "--groups is passed to OpenSSL: P-256 negotiates prime256v1, a bad list is EX_USAGE" {
  local port ke
  port=$(free_port); ke=$(free_port)
  start_chronyd_nts_server "$port" "$ke" "$PKI"
  run nts-ke --ca-file "$PKI/ca.crt" --groups P-256 -o json "127.0.0.1:$ke"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"group":"prime256v1"'* || "$output" == *'"group":"secp256r1"'* ]]
  run nts-ke --groups no-such-group "127.0.0.1:$ke"
  [ "$status" -eq 64 ]
  [[ "$output" == 'nts-ke: --groups "no-such-group": '* ]]
}

@test "a certificate from an untrusted CA (or the system's store) is EX_PROTOCOL with the reason" {
  local port ke
  port=$(free_port); ke=$(free_port)
  start_chronyd_nts_server "$port" "$ke" "$PKI"
  run nts-ke --ca-file "$PKI/other-ca.crt" "127.0.0.1:$ke"
  [ "$status" -eq 76 ]
  [ "$output" = "nts-ke: 127.0.0.1:$ke: TLS handshake: certificate: unable to get local issuer certificate" ]
  run nts-ke "127.0.0.1:$ke"
  [ "$status" -eq 76 ]
}

@test "TLS 1.2 only, or TLS 1.3 without ALPN ntske/1: refused (openssl s_server as the server)" {
  local p12 p13
  p12=$(free_port); p13=$(free_port)
  openssl s_server -accept "$p12" -cert "$PKI/server.crt" -key "$PKI/server.key" -tls1_2 -quiet \
    < /dev/null > /dev/null 2>&1 &
  track_pid $!
  openssl s_server -accept "$p13" -cert "$PKI/server.crt" -key "$PKI/server.key" -tls1_3 -quiet \
    < /dev/null > /dev/null 2>&1 &
  track_pid $!
  wait_tcp_bound "$p12"
  wait_tcp_bound "$p13"
  run nts-ke --ca-file "$PKI/ca.crt" "127.0.0.1:$p12"
  [ "$status" -eq 76 ]
  [ "$output" = "nts-ke: 127.0.0.1:$p12: TLS handshake: tlsv1 alert protocol version" ]
  run nts-ke --ca-file "$PKI/ca.crt" "127.0.0.1:$p13"
  [ "$status" -eq 76 ]
  [ "$output" = "nts-ke: 127.0.0.1:$p13: TLS handshake: no application protocol (ALPN) negotiated" ]
}

@test "a refused port is EX_UNAVAILABLE, an unknown name EX_NOHOST, a bad server EX_USAGE: one line each" {
  local port
  port=$(free_port)
  run nts-ke -t 2s "127.0.0.1:$port"
  [ "$status" -eq 69 ]
  [ "$output" = "nts-ke: 127.0.0.1:$port: connection refused" ]
  run nts-ke -t 2s name.invalid
  [ "$status" -eq 68 ]
  [[ "$output" == "nts-ke: name.invalid: "* ]]
  run nts-ke "[::1"
  [ "$status" -eq 64 ]
  run nts-ke
  [ "$status" -eq 64 ]
  [ "$output" = "nts-ke: one server, HOST[:PORT], expected (see -h)" ]
  run nts-ke -o cbor localhost
  [ "$status" -eq 64 ]
}

@test "--rotate-keys creates a 0600 key file and keeps --keep old keys, replacing it in one step" {
  local f=$BATS_TEST_TMPDIR/keys
  run nts-ke --rotate-keys "$f"
  [ "$status" -eq 0 ]
  [ "$(stat -c %a "$f")" = 600 ]
  [ "$(grep -vc '^#' "$f")" -eq 1 ]
  local first
  first=$(grep -v '^#' "$f" | awk '{print $1}')
  for i in 1 2 3; do nts-ke --rotate-keys "$f" --keep 2; done
  [ "$(grep -vc '^#' "$f")" -eq 3 ]                 # current + 2 old
  ! grep -q "^$first " "$f"                           # the first is rotated out
  [ ! -e "$f.tmp" ]
  grep -vq '^#' "$f"
  grep -v '^#' "$f" | awk 'length($1) != 8 || length($2) != 64 { exit 1 }'
  chmod 0644 "$f"
  run nts-ke --rotate-keys "$f"
  [ "$status" -eq 77 ]                                # a readable key file is refused
  [[ "$output" == "nts-ke: $f: mode 0644 lets group or others read it (chmod 600 it)" ]]
  printf 'garbage\n' > "$BATS_TEST_TMPDIR/bad"; chmod 600 "$BATS_TEST_TMPDIR/bad"
  run nts-ke --rotate-keys "$BATS_TEST_TMPDIR/bad"
  [ "$status" -eq 65 ]
  [ "$output" = "nts-ke: $BATS_TEST_TMPDIR/bad: line 1: the key id is not 8 hex digits" ]
}
