# Helpers for tests/87N-webntp-*.bats: `load 870-webntp-lib` after `load common`. Read-only for
# other files (webntp-query's tests may load it too). Functions:
#
# make_leapfile OUT [EXPIRES_UNIX [corrupt]]: tests/data/leap-seconds.list's entries with #@ set to
#     EXPIRES_UNIX (default: a year from now) and #h recomputed as IERS does (SHA-1 over the
#     digits of #$, #@ and the first two fields of each data line); "corrupt": the last digit of
#     #h changed (the SHA-1 no longer matches).
# wserve_start [webntp-serve options...]: starts webntp-serve on 127.0.0.1:<free port> (add
#     --cert/--key yourself) with a fresh leap file unless --leapfile is given; sets WS_PORT,
#     WS_PID, WS_ERR (its stderr file); waits until the port accepts.
# wait_tcp_bound PORT: up to ~20 s for a listener on 127.0.0.1:PORT.
# ws_client URL [--proto P] [--origin O] [--ca FILE] MESSAGE...: Python websockets (Debian's, the
#     independent peer) sends each MESSAGE (b:HEX = binary of those bytes) and prints each
#     answer, then "closed CODE REASON" when the server closes, or "refused: why".
# raw_exchange PORT HEX [TIMEOUT]: sends the bytes HEX on one TCP connection, prints what comes
#     back (Python repr, latin-1) and "eof" when the server closed, "open" if it still holds it.
# ws_raw PORT KIND: a WebSocket upgrade by hand, then one hostile frame (masked, as from a
#     client): KIND "2gb" declares a 2 GiB text frame and sends 16 bytes of it; "badutf8" a text
#     frame of bytes that are not UTF-8; "binary-number" a binary frame "1.5". Prints the
#     server's answer frames as "text JSON" or "close CODE REASON", then "eof" or "open".
# JSON_RE IT [LEAP NEXT STEP]: an ERE for the whole JSON line answering client timestamp IT
#     (its exact bytes) from 127.0.0.1:$WS_PORT; the leap fields default to a current list's
#     (36, 1483228800.000000, 1); st and time are any 6-decimal numbers (compare them yourself).

make_leapfile() {
  /usr/bin/python3 - "$TESTS_DIR/data/leap-seconds.list" "$@" <<'PY'
import hashlib, sys, time
src, out = sys.argv[1], sys.argv[2]
expires = int(sys.argv[3]) if len(sys.argv) > 3 else int(time.time()) + 365 * 86400
corrupt = len(sys.argv) > 4 and sys.argv[4] == "corrupt"
NTP = 2208988800
updated = None; data = []
for line in open(src):
    if line.startswith("#$"): updated = int(line.split()[1])
    elif not line.startswith("#") and line.strip():
        f = line.split(); data.append((int(f[0]), int(f[1])))
exp_ntp = expires + NTP
digits = str(updated) + str(exp_ntp) + "".join(str(a) + str(b) for a, b in data)
h = hashlib.sha1(digits.encode()).hexdigest()
words = " ".join(h[i:i + 8] for i in range(0, 40, 8))
if corrupt: words = words[:-1] + ("0" if words[-1] != "0" else "1")
with open(out, "w") as o:
    o.write("# test list\n#$\t%d\n#@\t%d\n" % (updated, exp_ntp))
    for a, b in data: o.write("%d\t%d\t# entry\n" % (a, b))
    o.write("#h\t%s\n" % words)
PY
}

wserve_start() {
  WS_PORT=$(free_port)
  WS_ERR=$BATS_TEST_TMPDIR/webntp-serve.err
  local leap=()
  if [[ " $* " != *" --leapfile "* ]]; then
    make_leapfile "$BATS_TEST_TMPDIR/leap.list"
    leap=(--leapfile "$BATS_TEST_TMPDIR/leap.list")
  fi
  webntp-serve -v -l "127.0.0.1:$WS_PORT" "${leap[@]}" "$@" 2> "$WS_ERR" &
  WS_PID=$!
  track_pid "$WS_PID"
  wait_tcp_bound "$WS_PORT"
}

ws_client() {
  /usr/bin/python3 - "$@" <<'PY'
import asyncio, ssl, sys, websockets
args = sys.argv[1:]; url = args.pop(0); proto = origin = ca = None
while args and args[0].startswith("--"):
    k = args.pop(0); v = args.pop(0)
    if k == "--proto": proto = v
    elif k == "--origin": origin = v
    elif k == "--ca": ca = v
async def main():
    kw = {}
    if proto: kw["subprotocols"] = [proto]
    if origin: kw["origin"] = origin
    if ca: kw["ssl"] = ssl.create_default_context(cafile=ca)
    try:
        ws = await websockets.connect(url, open_timeout=5, **kw)
    except Exception as e:
        print("refused:", e); return
    print("subprotocol", ws.subprotocol)
    try:
        for m in args:
            await ws.send(bytes.fromhex(m[2:]) if m.startswith("b:") else m)
            print(await asyncio.wait_for(ws.recv(), 5))
        await ws.close()
        print("closed", ws.close_code)
    except websockets.ConnectionClosed as e:
        print("closed", e.rcvd.code if e.rcvd else "none", e.rcvd.reason if e.rcvd else "")
asyncio.run(main())
PY
}

raw_exchange() {
  /usr/bin/python3 - "$@" <<'PY'
import socket, sys, time
port, data = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
s = socket.create_connection(("127.0.0.1", port)); s.sendall(data); s.settimeout(timeout)
got = b""; state = "open"
end = time.monotonic() + timeout
try:
    while time.monotonic() < end:
        b = s.recv(65536)
        if not b: state = "eof"; break
        got += b
except socket.timeout: pass
except ConnectionResetError: state = "eof"
print(repr(got.decode("latin-1"))); print(state)
PY
}

JSON_RE() {
  local it=${1//./\\.} next=${3:-1483228800.000000}
  printf '^\\{"id":"127\\.0\\.0\\.1:%s","it":%s,"st":([0-9]+\\.[0-9]{6}),"time":([0-9]+\\.[0-9]{6}),"leap":%s,"next":%s,"step":%s\\}$' \
    "$WS_PORT" "$it" "${2:-36}" "${next//./\\.}" "${4:-1}"
}

ws_raw() {
  /usr/bin/python3 - "$@" <<'PY'
import base64, os, socket, struct, sys, time
port, kind = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(3)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (port, key)).encode())
buf = b""
while b"\r\n\r\n" not in buf: buf += s.recv(4096)
head, buf = buf.split(b"\r\n\r\n", 1)
assert head.startswith(b"HTTP/1.1 101"), head
mask = os.urandom(4)
def masked(p): return bytes(b ^ mask[i % 4] for i, b in enumerate(p))
if kind == "2gb":
    frame = bytes([0x81, 0xFF]) + struct.pack("!Q", 2**31) + mask + masked(b"0" * 16)
elif kind == "badutf8":
    p = b"1.5\xff\xfe"; frame = bytes([0x81, 0x80 | len(p)]) + mask + masked(p)
else:
    p = b"1.5"; frame = bytes([0x82, 0x80 | len(p)]) + mask + masked(p)
try: s.sendall(frame)
except OSError: pass
state = "open"
end = time.monotonic() + 3
try:
    while time.monotonic() < end:
        b = s.recv(65536)
        if not b: state = "eof"; break
        buf += b
except socket.timeout: pass
except ConnectionResetError: state = "eof"
while len(buf) >= 2:
    op, n = buf[0] & 0x0F, buf[1] & 0x7F; o = 2
    if n == 126: n = struct.unpack("!H", buf[2:4])[0]; o = 4
    p = buf[o:o + n]; buf = buf[o + n:]
    if op == 8: print("close", struct.unpack("!H", p[:2])[0], p[2:].decode())
    else: print("text" if op == 1 else "op%d" % op, p.decode())
print(state)
PY
}
