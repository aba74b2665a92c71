#!/usr/bin/env bats
# nts-ke --serve against the failure modes seen in deployed NTS-KE servers, driven by a client
# written here on Python's ssl module (no NTS code of ours): TLS 1.2 and a missing or wrong ALPN
# refused in the handshake, an unknown critical record answered with Error 0, duplicates and
# records not allowed in a request with Error 1, an unknown non-critical record ignored, a
# request without End of Message and a client that sends too much or too slowly cut off, and a
# good request answered with exactly 8 cookies.
load common
load 750-nts-lib

setup() {
  require_cmd nts-ke
  require_cmd openssl
  PKI=$BATS_TEST_TMPDIR/pki
  make_test_pki "$PKI"
  KE=$(free_port)
  nts-ke --serve --cert "$PKI/server.crt" --key "$PKI/server.key" --keys "$BATS_TEST_TMPDIR/keys" \
    -l "127.0.0.1:$KE" -t 2s -v 2> "$BATS_TEST_TMPDIR/ke.err" &
  KE_PID=$!
  track_pid "$KE_PID"
  wait_tcp_bound "$KE"
}

teardown() { kill_tracked; }

# ke_client [--tls12] [--alpn P|--no-alpn] [--slow] HEX: sends the records (hex) over TLS, prints
# the response's records one per line as "C TYPE BODYHEX" (C: 1 critical), or what failed.
ke_client() {
  /usr/bin/python3 - "$KE" "$PKI/ca.crt" "$@" <<'PY'
import socket, ssl, sys, time
port, ca, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
ctx = ssl.create_default_context(cafile=ca)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
alpn, slow, payload = ["ntske/1"], False, b""
while args:
    a = args.pop(0)
    if a == "--tls12": ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif a == "--alpn": alpn = [args.pop(0)]
    elif a == "--no-alpn": alpn = None
    elif a == "--slow": slow = True
    else: payload = bytes.fromhex(a.replace(" ", ""))
if alpn: ctx.set_alpn_protocols(alpn)
try:
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="localhost")
except (ssl.SSLError, ConnectionError, OSError) as e:
    print("handshake failed:", getattr(e, "reason", None) or e); sys.exit(0)
try:
    if slow:
        for b in payload:
            s.sendall(bytes([b])); time.sleep(0.5)
    else:
        s.sendall(payload)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk: break
        data += chunk
except (ssl.SSLError, ConnectionError, OSError, socket.timeout) as e:
    print("cut off:", type(e).__name__, len(data) if "data" in dir() else 0); sys.exit(0)
if not data:
    print("closed without a response"); sys.exit(0)
i = 0
while i + 4 <= len(data):
    head, n = int.from_bytes(data[i:i+2], "big"), int.from_bytes(data[i+2:i+4], "big")
    print(head >> 15, head & 0x7fff, data[i+4:i+4+n].hex())
    i += 4 + n
PY
}

GOOD="8001 0002 0000  8004 0002 000f  8000 0000"

@test "a good request: NTPv4, AES-SIV-CMAC-256, exactly 8 cookies, End of Message" {
  run ke_client "$GOOD"
  echo "$output"
  [ "${lines[0]}" = "1 1 0000" ]
  [ "${lines[1]}" = "1 4 000f" ]
  [ "$(grep -c '^0 5 ' <<< "$output")" -eq 8 ]
  [ "${lines[-1]}" = "1 0 " ]
  [ "${#lines[@]}" -eq 11 ]
}

@test "TLS 1.2 is refused; no ALPN or another ALPN is refused in the handshake" {
  run ke_client --tls12 "$GOOD"
  [[ "$output" == "handshake failed:"* ]]
  run ke_client --no-alpn "$GOOD"
  [[ "$output" == "handshake failed:"* || "$output" == "closed without a response" || "$output" == "cut off:"* ]]
  run ke_client --alpn http/1.1 "$GOOD"
  [[ "$output" == "handshake failed:"*"no application protocol"* ]]
  [ "$(counter tls_failures "$(counters_of "$KE_PID" "$BATS_TEST_TMPDIR/ke.err")")" -ge 2 ]
}

@test "an unknown critical record gets Error 0; an unknown non-critical one is ignored" {
  run ke_client "8001 0002 0000  8004 0002 000f  8123 0000  8000 0000"
  [ "$output" = $'1 2 0000\n1 0 ' ]
  run ke_client "8001 0002 0000  0123 0002 abcd  8004 0002 000f  8000 0000"
  [ "$(grep -c '^0 5 ' <<< "$output")" -eq 8 ]
}

@test "duplicates, a non-critical Next Protocol, an Error or New Cookie in a request, no Next Protocol: Error 1" {
  for req in "8001 0002 0000  8001 0002 0000  8004 0002 000f  8000 0000" \
             "8001 0002 0000  8004 0002 000f  8004 0002 000f  8000 0000" \
             "0001 0002 0000  8004 0002 000f  8000 0000" \
             "8001 0002 0000  8004 0002 000f  8002 0002 0000  8000 0000" \
             "8001 0002 0000  8004 0002 000f  0005 0004 01020304  8000 0000" \
             "8004 0002 000f  8000 0000" \
             "8001 0002 0000  8000 0000" \
             "8001 0003 000000  8004 0002 000f  8000 0000"; do
    run ke_client "$req"
    [ "$output" = $'1 2 0001\n1 0 ' ] || { echo "request $req: $output"; false; }
  done
}

@test "no common AEAD: NTPv4 with an empty AEAD record and no cookies; no NTPv4: an empty Next Protocol" {
  run ke_client "8001 0002 0000  8004 0002 001e  8000 0000"
  [ "$output" = $'1 1 0000\n1 4 \n1 0 ' ]
  run ke_client "8001 0002 8001  8000 0000"
  [ "$output" = $'1 1 \n1 0 ' ]
}

@test "a request without End of Message, a slow client, a client sending 64 KiB: cut off, the server serves on" {
  run ke_client "8001 0002 0000  8004 0002 000f"
  [[ "$output" == "cut off:"* || "$output" == "closed without a response" ]]
  run ke_client --slow "8001 0002 0000  8004 0002 000f  8000 0000"   # 6 s for 14 octets, -t 2s
  [[ "$output" == "cut off:"* || "$output" == "closed without a response" ]]
  run ke_client "0005 ffff $(printf '00%.0s' $(seq 65535))"
  [[ "$output" != *"1 0 "* ]]
  [ "$(counter timeouts "$(counters_of "$KE_PID" "$BATS_TEST_TMPDIR/ke.err")")" -ge 2 ]
  run ke_client "$GOOD"
  [ "$(grep -c '^0 5 ' <<< "$output")" -eq 8 ]
}
