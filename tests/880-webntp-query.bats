#!/usr/bin/env bats
# webntp-query(1) against independent peers written here: a Python HTTP(S) time server
# (http.server + ssl) and a python3-websockets WS(S) server, both answering go-webntp's JSON with
# a clock 2.5 s ahead. Offsets, the 2x-delay rule, the lowest-delay URL, failures, TLS checks,
# and the records through timecat and shm-export --sock.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd webntp-query
  require_cmd timecat
  require_cmd shm-export
  cat > "$BATS_TEST_TMPDIR/peer.py" <<'PY'
# peer.py MODE PORT OFFSET DELAYS [CERT KEY]: MODE http or ws; DELAYS "0,0,0.6" seconds slept
# before answering the 1st, 2nd, 3rd... request (0 after the list). PORT 0: the kernel picks one.
# Writes "ready PORT" to stdout once listening.
import asyncio, http.server, json, ssl, sys, threading, time
mode, port, offset = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
delays = [float(d) for d in sys.argv[4].split(",") if d]
ctx = None
if len(sys.argv) > 6:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[5], sys.argv[6])
    if len(sys.argv) > 7 and sys.argv[7] == "tls12":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2   # an older server: TLS 1.2, no ALPN
    else:
        ctx.set_alpn_protocols(["http/1.1"])
count = 0
lock = threading.Lock()
def answer(host, it):
    global count
    with lock:
        i = count; count += 1
    time.sleep(delays[i] if i < len(delays) else 0)
    now = time.time() + offset
    # go-webntp's key order and numbers, 6 decimals
    return ('{"id":%s,"it":%s,"st":%.6f,"time":%.6f,"leap":37,"next":1483228800.000000,"step":1}'
            % (json.dumps(host), it, now, now))
if mode == "http":
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_GET(self):
            q = self.path.partition("?")[2] or "0"
            body = answer(self.headers.get("Host", ""), q).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *a): pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
    if ctx: srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("ready %d" % srv.server_address[1], flush=True)
    srv.serve_forever()
else:
    import websockets
    async def handler(ws, path=None):
        async for m in ws:
            await ws.send(await asyncio.get_running_loop().run_in_executor(None, answer, "ws", m))
    async def main():
        async with websockets.serve(handler, "127.0.0.1", port, ssl=ctx, subprotocols=["webntp.shogo82148.com"]) as server:
            print("ready %d" % server.sockets[0].getsockname()[1], flush=True)
            await asyncio.Future()
    asyncio.run(main())
PY
}

# start_peer MODE OFFSET DELAYS [tls|tls12]: sets PORT, the one the peer bound (port 0, so no
# other test running at the same time can take it first). tls12: TLS 1.2 at most, no ALPN.
start_peer() {
  local tls=()
  if [ "${4:-}" = tls ] || [ "${4:-}" = tls12 ]; then
    [ -f "$BATS_TEST_TMPDIR/pki/ca.crt" ] || "$TESTS_DIR/make-test-pki" "$BATS_TEST_TMPDIR/pki"
    tls=("$BATS_TEST_TMPDIR/pki/server.crt" "$BATS_TEST_TMPDIR/pki/server.key")
    [ "$4" = tls ] || tls+=(tls12)
  fi
  local ready
  ready=$(mktemp "$BATS_TEST_TMPDIR/ready.XXXXXX")
  /usr/bin/python3 "$BATS_TEST_TMPDIR/peer.py" "$1" 0 "$2" "$3" "${tls[@]}" > "$ready" &
  track_pid $!
  PORT=$(wait_ready_port "$ready") || { echo "peer did not start" >&2; return 1; }
}

# wait_ready_port FILE: the port of a "ready PORT" line a peer writes to FILE (10 s at most).
wait_ready_port() {
  local i line
  for i in $(seq 100); do
    read -r line < "$1" 2>/dev/null || line=
    if [[ "$line" =~ ^ready\ ([0-9]+)$ ]]; then
      echo "${BASH_REMATCH[1]}"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# field JSON KEY: a top-level value of one JSON line.
field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# near A B TOL: |A - B| <= TOL
near() { /usr/bin/python3 -c 'import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=t else 1)' "$1" "$2" "$3"; }

# offset_ok JSON EXPECTED: the record's offset within half its delay (+ 2 ms) of EXPECTED: each
# sample's error is at most half its round trip, so is the average's; a loaded machine widens it.
offset_ok() {
  /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.argv[1]); e=float(sys.argv[2]); d=abs(r["offset"]-e); print("offset error %.6f s, bound %.6f s" % (d, r["delay"]/2+0.002)); sys.exit(0 if d <= r["delay"]/2+0.002 else 1)' "$1" "$2"
}

@test "webntp-query -h, -V, bad options and URLs are one line, EX_USAGE" {
  run --separate-stderr webntp-query -h
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
  run --separate-stderr webntp-query -V
  [[ "$output" == "webntp-query "* ]]
  run --separate-stderr webntp-query
  [ "$status" -eq 64 ]
  [ "$stderr" = "webntp-query: no URL given (see -h)" ]
  run --separate-stderr webntp-query -p 9 http://localhost/
  [ "$status" -eq 64 ]
  run --separate-stderr webntp-query ftp://localhost/
  [ "$status" -eq 64 ]
  [ "$stderr" = 'webntp-query: URL "ftp://localhost/": scheme must be http, https, ws or wss' ]
  run --separate-stderr webntp-query http://localhost:0/
  [ "$status" -eq 64 ]
}

@test "http: the offset of a server 2.5 s ahead, within the measured delay" {
  start_peer http 2.5 ""
  run --separate-stderr webntp-query -p 2 -o json "http://127.0.0.1:$PORT/json"
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  local off delay
  off=$(field "$output" offset)
  delay=$(field "$output" delay)
  near "$off" 2.5 "$(/usr/bin/python3 -c "print($delay/2 + 0.001)")"
  [ "$(field "$output" source)" = "http://127.0.0.1:$PORT/json" ]
  [ "$(field "$output" auth)" = none ]
  [ "$(field "$output" refid)" = HTTP ]
  [ "$(field "$output" stratum)" = 2 ]
}

@test "a sample with at least twice the smallest delay is dropped, the rest averaged" {
  # The 3rd answer waits 0.6 s: its offset is 0.3 s off. Averaged in, the mean would be 2.575.
  start_peer http 2.5 "0,0,0.6,0"
  run --separate-stderr webntp-query -v -p 4 -o json "http://127.0.0.1:$PORT/"
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  # loopback jitter may drop one more of the quick ones, never keep the slow one
  [[ "$stderr" =~ \(([123])\ of\ 4\ samples\ kept\) ]]
  [[ "$stderr" =~ sample\ 3:\ offset\ \+2\.(7|8|9) ]]
  offset_ok "$output" 2.5
  # averaged in, the 0.6 s one would make the mean delay at least 0.15 s
  near "$(field "$output" delay)" 0 0.1
}

@test "several URLs: the one with the lowest delay wins" {
  start_peer http 7 "0.3,0.3" && slow=$PORT
  start_peer http 2.5 "" && fast=$PORT
  run --separate-stderr webntp-query -p 2 -o json "http://127.0.0.1:$slow/" "http://127.0.0.1:$fast/"
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  [ "$(field "$output" source)" = "http://127.0.0.1:$fast/" ]
  offset_ok "$output" 2.5
}

@test "no URL answers: exit 69 and no record (go-webntp exits 0 with a zero offset)" {
  local port
  port=$(free_port)
  run --separate-stderr webntp-query -p 1 -o json "http://127.0.0.1:$port/" "ws://127.0.0.1:$port/"
  [ "$status" -eq 69 ]
  [ -z "$output" ]
  [[ "$stderr" == *"webntp-query: http://127.0.0.1:$port/: connection refused"* ]]
  [[ "$stderr" == *"webntp-query: no URL answered" ]]
}

@test "a server that never answers is given up after -t, exit 69" {
  local port
  /usr/bin/python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print("ready %d" % s.getsockname()[1], flush=True); c=s.accept(); time.sleep(60)' > "$BATS_TEST_TMPDIR/ready" &
  track_pid $!
  port=$(wait_ready_port "$BATS_TEST_TMPDIR/ready")
  run --separate-stderr webntp-query -p 1 -t 300ms -o json "http://127.0.0.1:$port/"
  [ "$status" -eq 69 ]
  [[ "$stderr" == *"timed out"* ]]
}

@test "a non-JSON or non-200 answer is refused with one line" {
  local port
  /usr/bin/python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if "good" in self.path else 404); self.send_header("Content-Length", "5"); self.end_headers(); self.wfile.write(b"hello")
    def log_message(self, *a): pass
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
print("ready %d" % srv.server_address[1], flush=True)
srv.serve_forever()' > "$BATS_TEST_TMPDIR/ready" &
  track_pid $!
  port=$(wait_ready_port "$BATS_TEST_TMPDIR/ready")
  run --separate-stderr webntp-query -p 1 -o json "http://127.0.0.1:$port/good"
  [ "$status" -eq 69 ]
  [[ "$stderr" == *"http://127.0.0.1:$port/good: response body: byte 0: expected '{'"* ]]
  run --separate-stderr webntp-query -p 1 -o json "http://127.0.0.1:$port/bad"
  [ "$status" -eq 69 ]
  [[ "$stderr" == *"HTTP status 404"* ]]
}

@test "https with the test CA: auth tls; a certificate from another CA is refused" {
  start_peer http 2.5 "" tls
  run --separate-stderr webntp-query -p 2 -o json --ca-file "$BATS_TEST_TMPDIR/pki/ca.crt" "https://localhost:$PORT/"
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  [ "$(field "$output" auth)" = tls ]
  offset_ok "$output" 2.5
  run --separate-stderr webntp-query -p 1 -o json --ca-file "$BATS_TEST_TMPDIR/pki/other-ca.crt" "https://localhost:$PORT/"
  [ "$status" -eq 69 ]
  [ -z "$output" ]
  [[ "$stderr" == *"certificate"* ]]
  # the system's CAs do not know the test CA either
  run --separate-stderr webntp-query -p 1 -o json "https://localhost:$PORT/"
  [ "$status" -eq 69 ]
  [[ "$stderr" == *"certificate"* ]]
}

@test "https to a server of TLS 1.2 without ALPN: verified as any other (HTTPS needs neither 1.3 nor ALPN)" {
  start_peer http 2.5 "" tls12
  run --separate-stderr webntp-query -p 1 -o json --ca-file "$BATS_TEST_TMPDIR/pki/ca.crt" "https://localhost:$PORT/"
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  [ "$(field "$output" auth)" = tls ]
  offset_ok "$output" 2.5
  run --separate-stderr webntp-query -p 1 -o json --ca-file "$BATS_TEST_TMPDIR/pki/other-ca.crt" "https://localhost:$PORT/"
  [ "$status" -eq 69 ]
  [[ "$stderr" == *"certificate"* ]]
}

@test "ws: python3-websockets peer, the 2x rule over one connection" {
  start_peer ws 2.5 "0,0.5,0"
  run --separate-stderr webntp-query -v -p 3 -o json "ws://127.0.0.1:$PORT/"
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  [[ "$stderr" =~ \(([12])\ of\ 3\ samples\ kept\) ]]
  offset_ok "$output" 2.5
  near "$(field "$output" delay)" 0 0.1
  [ "$(field "$output" refid)" = WS ]
  [ "$(field "$output" auth)" = none ]
}

@test "wss with the test CA; another CA refused" {
  start_peer ws 2.5 "" tls
  run --separate-stderr webntp-query -p 2 -o json --ca-file "$BATS_TEST_TMPDIR/pki/ca.crt" "wss://localhost:$PORT/"
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  [ "$(field "$output" auth)" = tls ]
  offset_ok "$output" 2.5
  run --separate-stderr webntp-query -p 1 --ca-file "$BATS_TEST_TMPDIR/pki/other-ca.crt" "wss://localhost:$PORT/"
  [ "$status" -eq 69 ]
  [[ "$stderr" == *"certificate"* ]]
}

@test "records: webntp-query | timecat, and | shm-export --sock delivers the offset" {
  start_peer http 2.5 ""
  run --separate-stderr sh -c "webntp-query -p 1 -o cbor http://127.0.0.1:$PORT/ | timecat -o json"
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  [ "$(field "$output" type)" = sample ]
  [ "$(field "$output" source)" = "http://127.0.0.1:$PORT/" ]
  local sock="$BATS_TEST_TMPDIR/refclock.sock"
  /usr/bin/python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(10)
open(sys.argv[2], "w").write("ready")
d = s.recv(64)
tv_sec, tv_usec, offset, pulse, leap, pad, magic = struct.unpack("qqdiiii", d)
print("%x %.3f" % (magic, offset))' "$sock" "$BATS_TEST_TMPDIR/sock.ready" > "$BATS_TEST_TMPDIR/sock.out" &
  local reader=$!
  track_pid $reader
  for i in $(seq 50); do [ -f "$BATS_TEST_TMPDIR/sock.ready" ] && break; sleep 0.1; done
  webntp-query -p 1 -o cbor "http://127.0.0.1:$PORT/" | shm-export --sock "$sock"
  wait $reader
  cat "$BATS_TEST_TMPDIR/sock.out"
  read -r magic off < "$BATS_TEST_TMPDIR/sock.out"
  [ "$magic" = 534f434b ]
  near "${off#-}" 2.5 0.1
}

@test "a keep-alive connection the server closed between samples is reopened once" {
  local port
  # HTTP/1.1 without "Connection: close", yet every connection ends after one answer (as a
  # server's idle timeout does): the next sample finds it closed and must reconnect.
  /usr/bin/python3 -c '
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        now = time.time() + 2.5
        body = (b"{\"id\":\"x\",\"it\":0,\"st\":%.6f,\"time\":%.6f,\"leap\":37,\"next\":1483228800.000000,\"step\":1}" % (now, now))
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body); self.close_connection = True
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("ready %d" % srv.server_address[1], flush=True)
srv.serve_forever()' > "$BATS_TEST_TMPDIR/ready" &
  track_pid $!
  port=$(wait_ready_port "$BATS_TEST_TMPDIR/ready")
  run --separate-stderr webntp-query -v -p 3 -o json "http://127.0.0.1:$port/"
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"sample 3:"* ]]
  offset_ok "$output" 2.5
}

@test "-o text is ntp-query's table; | discipline steps by the offset" {
  start_peer http 2.5 ""
  run --separate-stderr webntp-query -p 1 -o text "http://127.0.0.1:$PORT/"
  echo "$output"
  [ "$status" -eq 0 ]
  # a remote longer than its column gets a line of its own, as in ntpq -pw
  [ "${lines[2]}" = "*http://127.0.0.1:$PORT/" ]
  [[ "${lines[3]}" =~ HTTP\ +2\ .*\ \+2(4[0-9][0-9]|5[0-9][0-9])ms\  ]]
  run --separate-stderr sh -c "webntp-query -p 1 -o cbor http://127.0.0.1:$PORT/ | discipline -o json"
  echo "$output $stderr"
  [ "$status" -eq 0 ]
  /usr/bin/python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.argv[1].splitlines()]
adj = [r for r in recs if r["type"] == "adjust"]
assert adj, recs
assert abs(adj[0]["step"] - 2.5) < 0.1, adj[0]
assert adj[0]["source"].startswith("http://127.0.0.1:"), adj[0]' "$output"
}
