# Helpers for tests/5NN-roughtime-serve-*.bats: `load 500-roughtime-serve-lib` after `load common`.
#
# rt_query PORT PUBKEY_B64 [options]: a Roughtime client in Python (cryptography's Ed25519,
# hashlib's SHA-512) that builds requests, verifies every answer fully — CERT's signature under
# the long-term key, SREP's under the delegated key, MINT <= MIDP <= MAXT, the Merkle path from
# the request to ROOT — and prints one JSON object per answer:
#   {"midp": ns, "radi": ns, "pubk": hex, "root": hex, "indx": n, "depth": n, "req": octets, "resp": octets}
# or "no answer", or "invalid: why". Options:
#   --host H      server address (127.0.0.1)
#   --tcp         over one TCP connection (packets back to back)
#   --google      a Google-Roughtime request (unframed, 64-octet nonce, microseconds)
#   --count N     N requests sent at once (one answer line each, in request order)
#   --size N      message size of each request (1024)
#   --srv-key B64 name this key in SRV instead of PUBKEY_B64
#   --timeout S   per answer (1.0)
#   --trailer T   TCP: send T (Python escapes: '\x00') right after the requests, in the same write
#   --eof         TCP: after the answers, print "eof" if the server ended the connection in
#                 order (FIN), "reset" if it reset it, "open" if it still held it after --timeout

rt_query() {
  /usr/bin/python3 - "$@" <<'PY'
import argparse, base64, hashlib, json, os, socket, struct, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.exceptions import InvalidSignature

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int); ap.add_argument("pubkey")
ap.add_argument("--host", default="127.0.0.1"); ap.add_argument("--tcp", action="store_true")
ap.add_argument("--google", action="store_true"); ap.add_argument("--count", type=int, default=1)
ap.add_argument("--size", type=int, default=1024); ap.add_argument("--srv-key")
ap.add_argument("--timeout", type=float, default=1.0)
ap.add_argument("--trailer", default=""); ap.add_argument("--eof", action="store_true")
a = ap.parse_args()
pk = base64.b64decode(a.pubkey)

def tag(s): return struct.unpack("<I", s.encode("latin1").ljust(4, b"\0"))[0]

def encode(fields):  # {tag: bytes}, sorted by tag value
    items = sorted(fields.items())
    n = len(items); offs = []; off = 0; body = b""
    for i, (_, v) in enumerate(items):
        if i: offs.append(off)
        body += v; off += len(v)
    return struct.pack("<I", n) + b"".join(struct.pack("<I", o) for o in offs) + \
        b"".join(struct.pack("<I", t) for t, _ in items) + body

def decode(m):
    n = struct.unpack_from("<I", m, 0)[0]
    offs = [0] + [struct.unpack_from("<I", m, 4 + 4 * i)[0] for i in range(n - 1)]
    tags = [struct.unpack_from("<I", m, 4 * n + 4 * i)[0] for i in range(n)]
    base = 8 * n; out = {}
    for i in range(n):
        end = offs[i + 1] if i + 1 < n else len(m) - base
        out[tags[i]] = m[base + offs[i]: base + end]
    return out

def build():
    if a.google:
        nonce = os.urandom(64)
        fields = {tag("NONC"): nonce, tag("PAD\xff"): b""}
        fields[tag("PAD\xff")] = b"\0" * (a.size - len(encode(fields)))
        return nonce, encode(fields)
    nonce = os.urandom(32)
    srv_key = base64.b64decode(a.srv_key) if a.srv_key else pk
    fields = {tag("VER"): struct.pack("<I", 1), tag("NONC"): nonce, tag("TYPE"): struct.pack("<I", 0),
              tag("SRV"): hashlib.sha512(b"\xff" + srv_key).digest()[:32], tag("ZZZZ"): b""}
    pad = a.size - len(encode(fields))
    fields[tag("ZZZZ")] = b"\0" * max(pad, 0)
    msg = encode(fields)
    return nonce, b"ROUGHTIM" + struct.pack("<I", len(msg)) + msg

def verify(req, nonce, resp):
    if a.google:
        msg, hs, unit = resp, 64, 1000
        dctx = b"RoughTime v1 delegation signature--\0"
    else:
        if resp[:8] != b"ROUGHTIM": return "no ROUGHTIM"
        msg, hs, unit = resp[12:], 32, 10**9
        if struct.unpack_from("<I", resp, 8)[0] != len(msg): return "bad frame length"
        dctx = b"RoughTime v1 delegation signature\0"
    m = decode(msg)
    if not a.google:
        if m.get(tag("TYPE")) != struct.pack("<I", 1): return "TYPE"
        if m.get(tag("NONC")) != nonce: return "NONC"
    cert = decode(m[tag("CERT")]); dele_b = cert[tag("DELE")]
    K = Ed25519PublicKey
    try: K.from_public_bytes(pk).verify(cert[tag("SIG")], dctx + dele_b)
    except InvalidSignature: return "DELE signature"
    dele = decode(dele_b); pubk = dele[tag("PUBK")]
    srep_b = m[tag("SREP")]
    try: K.from_public_bytes(pubk).verify(m[tag("SIG")], b"RoughTime v1 response signature\0" + srep_b)
    except InvalidSignature: return "SREP signature"
    srep = decode(srep_b)
    midp = struct.unpack("<Q", srep[tag("MIDP")])[0] * unit
    radi = struct.unpack("<I", srep[tag("RADI")])[0] * unit
    mint = struct.unpack("<Q", dele[tag("MINT")])[0] * unit
    maxt = struct.unpack("<Q", dele[tag("MAXT")])[0] * unit
    if not (mint <= midp <= maxt): return "MIDP outside MINT..MAXT"
    if not a.google and srep.get(tag("VER")) != struct.pack("<I", 1): return "VER"
    path = m[tag("PATH")]; indx = struct.unpack("<I", m[tag("INDX")])[0]
    H = lambda b: hashlib.sha512(b).digest()[:hs]
    h = H(b"\0" + (nonce if a.google else req)); i = indx
    for k in range(0, len(path), hs):
        node = path[k:k + hs]
        h = H(b"\x01" + h + node) if i & 1 == 0 else H(b"\x01" + node + h)
        i >>= 1
    if i != 0: return "INDX"
    if h != srep[tag("ROOT")]: return "Merkle path"
    return {"midp": midp, "radi": radi, "pubk": pubk.hex(), "root": h.hex(), "indx": indx,
            "depth": len(path) // hs, "req": len(req), "resp": len(resp), "mint": mint, "maxt": maxt}

reqs = [build() for _ in range(a.count)]
answers = {}
ending = None
try:
    if a.tcp:
        s = socket.create_connection((a.host, a.port), timeout=a.timeout)
        s.sendall(b"".join(r for _, r in reqs) + a.trailer.encode("latin1").decode("unicode_escape").encode("latin1")); buf = b""
        while len(answers) < len(reqs):
            try: chunk = s.recv(65536)
            except ConnectionResetError: ending = "reset"; break
            if not chunk: ending = "eof"; break
            buf += chunk
            while len(buf) >= 12:
                ln = struct.unpack_from("<I", buf, 8)[0]
                if len(buf) < 12 + ln: break
                pkt, buf = buf[:12 + ln], buf[12 + ln:]
                answers[decode(pkt[12:]).get(tag("NONC"))] = pkt
    else:
        fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(a.timeout)
        for _, r in reqs: s.sendto(r, (a.host, a.port))
        while len(answers) < len(reqs):
            d = s.recv(65536)
            if a.google:  # the nonce is not echoed: find the request whose leaf the path proves
                n = next((n for n, r in reqs if isinstance(verify(r, n, d), dict)), os.urandom(8))
                answers[n] = d
            else:
                answers[decode(d[12:]).get(tag("NONC"))] = d
except (socket.timeout, ConnectionError, OSError):
    pass
for n, r in reqs:
    if n not in answers: print("no answer"); continue
    v = verify(r, n, answers[n])
    print(json.dumps(v) if isinstance(v, dict) else "invalid: " + v)
if a.eof:
    if ending is None:
        try: ending = "eof" if s.recv(65536) == b"" else "data"
        except ConnectionResetError: ending = "reset"
        except (socket.timeout, OSError): ending = "open"
    print(ending)
PY
}

# rt_keygen FILE: a key; sets PUBKEY (base64).
rt_keygen() {
  PUBKEY=$(roughtime-serve --keygen "$1" | sed -n 's/^public key (base64): //p')
  [ -n "$PUBKEY" ]
}

# rt_start [options]: roughtime-serve on 127.0.0.1:$PORT with $KEY; stderr in $BATS_TEST_TMPDIR/err.
rt_start() {
  roughtime-serve --key "$KEY" --listen "127.0.0.1:$PORT" "$@" 2> "$BATS_TEST_TMPDIR/err" &
  SERVE_PID=$!
  track_pid $SERVE_PID
  wait_udp_bound "$PORT"
}

# json_field LINE KEY
# json_field JSON KEY: one number or text value out of rt_query's flat JSON object (json.dumps:
# '"key": value' pairs, values integers or hex text). In bash: a python per call cost seconds.
json_field() {
  local re="\"$2\": (\"([^\"]*)\"|(-?[0-9]+))"
  [[ $1 =~ $re ]] || { echo "json_field: no \"$2\" in: $1" >&2; return 1; }
  echo "${BASH_REMATCH[2]}${BASH_REMATCH[3]}"
}
