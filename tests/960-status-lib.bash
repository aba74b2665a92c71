# Helpers of the status socket tests (960, 961, 962): fetch a snapshot with Debian's Python (no code
# of ours on the client side) and decode it with timecat.

# snapshot SOCKET OUT: the socket's answer (retrying while nobody listens yet, up to 10 s) as
# CBOR in OUT.cbor and JSON lines (timecat) in OUT.
snapshot() {
  /usr/bin/python3 - "$1" > "$2.cbor" <<'PY' || return 1
import socket, sys, time
deadline = time.monotonic() + 10
while True:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(sys.argv[1])
        break
    except (FileNotFoundError, ConnectionRefusedError):
        s.close()
        if time.monotonic() > deadline:
            sys.exit("status socket %s: nobody answers" % sys.argv[1])
        time.sleep(0.05)
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
sys.stdout.buffer.write(data)
PY
  timecat -o json < "$2.cbor" > "$2"
}

# check_snapshot FILE TOOL PID [SOCKET]: the first record is TOOL's status record (pid, start
# time, version, and instance = SOCKET when given) and every other record has a type, a source
# and a time.
check_snapshot() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
st = recs[0]
assert st["type"] == "status" and st["source"] == sys.argv[2] and st["pid"] == int(sys.argv[3]), st
assert st["v"] == 1 and 0 < st["started"] <= st["time"] and st["version"], st
assert len(sys.argv) < 5 or st["instance"] == sys.argv[4], st
for r in recs[1:]:
    assert r["type"] != "status" and r["source"] and isinstance(r["time"], int), r
PY
}

# field FILE TYPE SOURCE EXPR: a Python expression over the record `r` of TYPE and SOURCE.
field() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
found = None
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["type"] == sys.argv[2] and r["source"] == sys.argv[3]:
        found = r
if found is None:
    sys.exit("no %s record of %s" % (sys.argv[2], sys.argv[3]))
r = found
print(eval(sys.argv[4]))
PY
}

# wait_for SOCKET EXPR: snapshots until the Python expression EXPR over `recs` (the decoded
# records) is true (20 s); the last snapshot stays in $BATS_TEST_TMPDIR/snap.json.
wait_for() {
  local i
  for i in $(seq 100); do
    snapshot "$1" "$BATS_TEST_TMPDIR/snap.json" || return 1
    /usr/bin/python3 -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$BATS_TEST_TMPDIR/snap.json" "$2" && return 0
    sleep 0.2
  done
  echo "never true: $2" >&2
  cat "$BATS_TEST_TMPDIR/snap.json" >&2
  return 1
}

# stale_socket PATH: a socket file nobody listens on (what a killed process leaves).
stale_socket() {
  /usr/bin/python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.close()' "$1"
}
