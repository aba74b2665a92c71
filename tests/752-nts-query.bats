#!/usr/bin/env bats
# ntp-query --nts: key exchange, then NTS-protected NTP (RFC 8915 §5), against chronyd 4.3's NTS
# server and against nts-ke + ntp-serve — samples say "auth":"nts", the cookie jar refills past
# the first 8, a NAK after a key rotation leads to a new key exchange, a refused NTS-KE is one
# line and EX_UNAVAILABLE, and responses altered on the way are never used.
bats_require_minimum_version 1.5.0
load common
load 750-nts-lib

setup() {
  require_cmd ntp-query
  nts_setup
  KEYS=$BATS_TEST_TMPDIR/nts-keys
}

teardown() { kill_tracked; }

@test "against chronyd's NTS server: 20 samples, all \"auth\":\"nts\", one key exchange (the jar refills)" {
  local port ke
  port=$(free_port); ke=$(free_port)
  start_chronyd_nts_server "$port" "$ke" "$PKI"
  run --separate-stderr ntp-query --nts --ca-file "$PKI/ca.crt" --nts-port "$ke" -f --minpoll -3 --maxpoll -3 -n 20 -o json -v localhost
  echo "$stderr"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 20 ]
  for l in "${lines[@]}"; do
    [[ "$l" == *"\"source\":\"ntp://127.0.0.1:$port\""* || "$l" == *"\"source\":\"ntp://[::1]:$port\""* ]]
    [[ "$l" == *'"auth":"nts"}' ]]
  done
  [[ "$stderr" == *"localhost: NTS-KE: AEAD_AES_SIV_CMAC_256, NTP server localhost port $port, 8 cookies"* ]]
  [[ "$stderr" != *"new NTS-KE"* ]]
}

@test "against nts-ke + ntp-serve: authenticated samples, interleaved mode too; plain samples say \"auth\":\"none\"" {
  local port ke
  port=$(free_port); ke=$(free_port)
  start_nts_server "$ke" "$port" "$KEYS"
  run ntp-query --nts --ca-file "$PKI/ca.crt" --nts-port "$ke" -n 3 -o json 127.0.0.1
  [ "$status" -eq 0 ]
  [[ "$output" == *"\"source\":\"ntp://127.0.0.1:$port\""*'"stratum":2'*'"auth":"nts"}' ]]
  run ntp-query --nts --interleaved --ca-file "$PKI/ca.crt" --nts-port "$ke" -f --minpoll -3 --maxpoll -3 -n 6 -o json 127.0.0.1
  [ "$status" -eq 0 ]
  [ "$(grep -c '"interleaved":true,"auth":"nts"' <<< "$output")" -ge 3 ]
  run ntp-query -n 1 -o json "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"auth":"none"}' ]]
  local line
  line=$(counters_of "$SERVE_PID" "$BATS_TEST_TMPDIR/ntp-serve.err")
  [ "$(counter nts "$line")" -ge 9 ] && [ "$(counter interleaved "$line")" -ge 3 ]
}

@test "a key rotation under a running client: NTS NAK, a new key exchange, authenticated samples again" {
  local port ke
  port=$(free_port); ke=$(free_port)
  start_nts_server "$ke" "$port" "$KEYS"
  ntp-query --nts --ca-file "$PKI/ca.crt" --nts-port "$ke" -f --minpoll -2 --maxpoll -2 -n 40 -o json 127.0.0.1 \
    > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
  local q=$!
  track_pid "$q"
  for _ in $(seq 100); do [ "$(wc -l < "$BATS_TEST_TMPDIR/out")" -ge 3 ] && break; sleep 0.1; done
  nts-ke --rotate-keys "$KEYS" --keep 0
  wait "$q"
  cat "$BATS_TEST_TMPDIR/err"
  grep -q "NTS NAK: the server refused our cookie; NTS-KE again" "$BATS_TEST_TMPDIR/err"
  [ "$(wc -l < "$BATS_TEST_TMPDIR/out")" -eq 40 ]
  [ "$(grep -c '"auth":"nts"' "$BATS_TEST_TMPDIR/out")" -eq 40 ]
  [ "$(counter nts_nak "$(counters_of "$SERVE_PID" "$BATS_TEST_TMPDIR/ntp-serve.err")")" -ge 1 ]
}

@test "a refused NTS-KE is one line and EX_UNAVAILABLE; an untrusted certificate EX_PROTOCOL" {
  local ke
  ke=$(free_port)
  run ntp-query --nts --nts-port "$ke" -n 1 127.0.0.1
  [ "$status" -eq 69 ]
  [ "$output" = "ntp-query: 127.0.0.1: NTS-KE: 127.0.0.1:$ke: connection refused" ]
  local port
  port=$(free_port)
  start_nts_server "$ke" "$port" "$KEYS"
  run ntp-query --nts --ca-file "$PKI/other-ca.crt" --nts-port "$ke" -n 1 127.0.0.1
  [ "$status" -eq 76 ]
  [[ "$output" == "ntp-query: 127.0.0.1: NTS-KE: 127.0.0.1:$ke: TLS handshake: certificate: "* ]]
}

@test "responses with a bit flipped on the way are never used (a UDP relay alters every one)" {
  local port ke relay
  port=$(free_port); ke=$(free_port); relay=$(free_port)
  # nts-ke names the relay as the NTP server; the relay flips one bit of each response
  nts-ke --serve --cert "$PKI/server.crt" --key "$PKI/server.key" --keys "$KEYS" -l "127.0.0.1:$ke" \
    --ntp-server "127.0.0.1:$relay" 2> /dev/null &
  track_pid $!
  wait_tcp_bound "$ke"
  ntp-serve -l "127.0.0.1:$port" -s 2 --nts-keys "$KEYS" 2> /dev/null &
  track_pid $!
  wait_udp_bound "$port"
  /usr/bin/python3 - "$relay" "$port" > "$BATS_TEST_TMPDIR/relay" <<'PY' &
import random, socket, sys
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); r.bind(("127.0.0.1", int(sys.argv[1])))
up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); up.settimeout(2)
rng = random.Random(7)
n = 0
while True:
    req, client = r.recvfrom(2048)
    up.sendto(req, ("127.0.0.1", int(sys.argv[2])))
    try:
        resp = bytearray(up.recv(2048))
    except socket.timeout:
        continue
    bit = rng.randrange(48 * 8, len(resp) * 8) if n % 2 else rng.randrange(len(resp) * 8)
    resp[bit // 8] ^= 1 << (bit % 8)
    r.sendto(bytes(resp), client); n += 1
    print(n, bit, flush=True)
PY
  track_pid $!
  wait_udp_bound "$relay"
  run --separate-stderr ntp-query --nts --ca-file "$PKI/ca.crt" --nts-port "$ke" -n 6 -t 300ms -o json 127.0.0.1
  echo "$output"; echo "$stderr"
  [ "$status" -eq 69 ]                              # no answer was usable
  [ -z "$output" ]
  [ "$(wc -l < "$BATS_TEST_TMPDIR/relay")" -ge 6 ]  # and every request got an (altered) answer
}

# ntp-serve's side (RFC 8915 §5.7 and the issue's "rate limits and ACLs apply before any
# crypto"): one request with a cookie that does not open, sent twice. An allowed client gets an
# NTS NAK with its UID; a --restrict'ed one gets KoD RSTR and no NTS work at all (the NAK
# counter stays 0): ntp-serve decides the client before it opens anything.
@test "ntp-serve: a forged cookie gets an NTS NAK; from a restricted client KoD RSTR, no NTS work" {
  require_cmd ntp-serve
  require_cmd nts-ke
  nts-ke --rotate-keys "$KEYS"
  local port verdict
  for restrict in no yes; do
    port=$(free_port)
    if [ "$restrict" = yes ]; then
      ntp-serve -l "127.0.0.1:$port" -s 2 --nts-keys "$KEYS" --restrict 127.0.0.1/32 2> "$BATS_TEST_TMPDIR/serve.err" &
    else
      ntp-serve -l "127.0.0.1:$port" -s 2 --nts-keys "$KEYS" 2> "$BATS_TEST_TMPDIR/serve.err" &
    fi
    local pid=$!
    track_pid $pid
    wait_udp_bound "$port"
    verdict=$(/usr/bin/python3 - "$port" <<'PY'
import os, socket, struct, sys
def field(t, v): return struct.pack("!HH", t, 4 + len(v)) + v
uid = os.urandom(32)
req = bytes([0x23]) + bytes(47)
req += field(0x0104, uid) + field(0x0204, os.urandom(104))      # UID, a cookie no key opens
req += field(0x0404, struct.pack("!HH", 16, 16) + os.urandom(32))  # nonce, SIV
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(req, ("127.0.0.1", int(sys.argv[1])))
r = s.recv(2048)
echoed = len(r) >= 84 and struct.unpack("!HH", r[48:52]) == (0x0104, 36) and r[52:84] == uid
print(r[1], r[12:16].decode("ascii", "replace"), len(r), "uid" if echoed else "no-uid")
PY
)
    local line
    line=$(counters_of "$pid" "$BATS_TEST_TMPDIR/serve.err")
    echo "$restrict: $verdict / $line"
    if [ "$restrict" = yes ]; then
      [ "$verdict" = "0 RSTR 48 no-uid" ]
      [ "$(counter kod_rstr "$line")" -eq 1 ]
    else
      [ "$verdict" = "0 NTSN 84 uid" ]
      [ "$(counter kod_rstr "$line")" -eq 0 ]
    fi
    [ "$(counter nts_nak "$line")" -eq $([ "$restrict" = yes ] && echo 0 || echo 1) ]
    [ "$(counter answered "$line")" -eq 0 ]
    kill $pid; wait $pid || true
  done
}
