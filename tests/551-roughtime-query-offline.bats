#!/usr/bin/env bats
# roughtime-query offline: --verify-exchange on captured exchanges (roughenough, Cloudflare) and
# --check-report on the RFC's appendix B malfeasance report, intact and with one bit flipped in
# SIG, CERT, PATH, INDX, NONC or MIDP of a response. Vectors: $TIMEPIPE_VECTORS, else
# ../shared/vectors beside the repository; missing vectors fail.
bats_require_minimum_version 1.5.0
load common

VEC=${TIMEPIPE_VECTORS:-$BATS_TEST_DIRNAME/../../shared/vectors}/roughtime
REPORT=$VEC/rfc-draft19/appendix-b-example-malfeasance-report.json
RE_KEY=AW5uAoTSTDfG5NfY1bTh08GUnOqlRb+HVhbJ3ODJvsE=
CF_KEY=HOkMydVHaAn5CI9SAY2ajluESZUeJGjhPeANAjTVDRQ=
K0=FnDyLV/68ephhLdFJbdEGCdkVvpXDaVe5PYvRDdlOOY=
K1=l9cdSuR8dFxtG9aJo9pWzUXaX8pftNG4UDC45Qk3znc=
K2=lRhHag6fn2wZQ6idy10ChgpRgks3gvdMM2hWNeJNgXg=

setup() {
  require_cmd roughtime-query
  [ -f "$REPORT" ] || { echo "missing vectors at $VEC (set TIMEPIPE_VECTORS)" >&2; return 1; }
}

# flip FILE WHERE [INDEX]: flips one bit in the middle of the value of WHERE ("SIG", "CERT.SIG",
# "SREP.MIDP", ...) of a Roughtime packet. FILE is a raw packet, or with INDEX a malfeasance report
# whose responses[INDEX].response is base64-decoded, flipped and re-encoded. Writes to stdout.
flip() {
  /usr/bin/python3 - "$@" <<'PY'
import base64, json, struct, sys
path, where = sys.argv[1], sys.argv[2]
index = int(sys.argv[3]) if len(sys.argv) > 3 else None
data = open(path, "rb").read()
if index is not None:
    report = json.loads(data)
    packet = bytearray(base64.b64decode(report["responses"][index]["response"]))
else:
    packet = bytearray(data)
def value(start, end, tag):  # the [s, e) of tag's value in the message at packet[start:end]
    n = struct.unpack_from("<I", packet, start)[0]
    offs = [0] + list(struct.unpack_from("<%dI" % (n - 1), packet, start + 4))
    vals = start + 8 * n
    for i in range(n):
        if packet[start + 4 * n + 4 * i: start + 4 * n + 4 * i + 4].rstrip(b"\0") == tag.encode():
            return vals + offs[i], (vals + offs[i + 1] if i + 1 < n else end)
    sys.exit("no " + tag)
s, e = (12 if packet[:8] == b"ROUGHTIM" else 0), len(packet)
for tag in where.split("."):
    s, e = value(s, e, tag)
if e <= s:
    sys.exit("empty " + where)
packet[(s + e) // 2] ^= 0x01
if index is None:
    sys.stdout.buffer.write(bytes(packet))
else:
    report["responses"][index]["response"] = base64.b64encode(bytes(packet)).decode()
    print(json.dumps(report, indent=2))
PY
}

@test "--verify-exchange: roughenough's captured exchange gives MIDP 1747944450, RADI 5" {
  run --separate-stderr roughtime-query -o text --verify-exchange "$VEC/roughenough/rfc-request.071039e5" \
    "$VEC/roughenough/rfc-response.071039e5" "$RE_KEY"
  [ "$status" -eq 0 ]
  [ "$output" = "$VEC/roughenough/rfc-response.071039e5: verified: MIDP 1747944450 (2025-05-22T20:07:30Z) RADI 5 s, version draft-12" ]
  [ -z "$stderr" ]
  run --separate-stderr roughtime-query -o json --verify-exchange "$VEC/roughenough/rfc-request.071039e5" \
    "$VEC/roughenough/rfc-response.071039e5" "$RE_KEY"
  [ "$status" -eq 0 ]
  echo "$output" | /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r == {"v": 1, "type": "roughtime_exchange", "midpoint": 1747944450 * 10**9, "radius": 5.0,
             "roughtime_version": "draft-12", "verified": True}, r'
}

@test "--verify-exchange: the wrong key, another request, or a flipped bit fail naming what" {
  req=$VEC/roughenough/rfc-request.071039e5 resp=$VEC/roughenough/rfc-response.071039e5
  run --separate-stderr roughtime-query -o text --verify-exchange "$req" "$resp" "$CF_KEY"
  [ "$status" -eq 65 ]
  [ "$stderr" = "roughtime-query: $resp: DELE signature does not verify" ]
  [ -z "$output" ]
  run --separate-stderr roughtime-query -o text --verify-exchange "$VEC/roughenough/rfc-request.SRV.417aa962" "$resp" "$RE_KEY"
  [ "$status" -eq 65 ]
  [ "$stderr" = "roughtime-query: $resp: NONC does not echo the request" ]
  for case in "SIG:SREP signature does not verify" "SREP.MIDP:SREP signature does not verify" \
              "CERT.SIG:DELE signature does not verify" "NONC:NONC does not echo the request"; do
    flip "$resp" "${case%%:*}" > "$BATS_TEST_TMPDIR/resp"
    run --separate-stderr roughtime-query -o text --verify-exchange "$req" "$BATS_TEST_TMPDIR/resp" "$RE_KEY"
    echo "$case -> $status: $stderr"
    [ "$status" -eq 65 ]
    [ "$stderr" = "roughtime-query: $BATS_TEST_TMPDIR/resp: ${case#*:}" ]
  done
  run --separate-stderr roughtime-query --verify-exchange "$BATS_TEST_TMPDIR/none" "$resp" "$RE_KEY"
  [ "$status" -eq 66 ]
}

@test "--verify-exchange: a batched Cloudflare exchange (draft 11) verifies; a flipped PATH or INDX does not" {
  /usr/bin/python3 - "$VEC/cloudflare/roughtime_ietf_draft11_010.json" "$BATS_TEST_TMPDIR" <<'PY'
import binascii, json, sys
d = json.load(open(sys.argv[1]))
open(sys.argv[2] + "/req", "wb").write(binascii.unhexlify(d["request"][3]))
open(sys.argv[2] + "/resp", "wb").write(binascii.unhexlify(d["replies"][3]))
PY
  run --separate-stderr roughtime-query -o text --verify-exchange "$BATS_TEST_TMPDIR/req" "$BATS_TEST_TMPDIR/resp" "$CF_KEY"
  [ "$status" -eq 0 ]
  [[ "$output" == *"verified: MIDP 50 (1970-01-01T00:00:50Z) RADI 5 s, version draft-11" ]]
  flip "$BATS_TEST_TMPDIR/resp" PATH > "$BATS_TEST_TMPDIR/bad"
  run --separate-stderr roughtime-query -o text --verify-exchange "$BATS_TEST_TMPDIR/req" "$BATS_TEST_TMPDIR/bad" "$CF_KEY"
  [ "$status" -eq 65 ]
  [ "$stderr" = "roughtime-query: $BATS_TEST_TMPDIR/bad: Merkle path does not lead to ROOT" ]
  flip "$BATS_TEST_TMPDIR/resp" INDX > "$BATS_TEST_TMPDIR/bad"
  run --separate-stderr roughtime-query -o text --verify-exchange "$BATS_TEST_TMPDIR/req" "$BATS_TEST_TMPDIR/bad" "$CF_KEY"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "roughtime-query: $BATS_TEST_TMPDIR/bad: "@(Merkle path does not lead to ROOT|INDX does not fit PATH) ]]
}

@test "--check-report: appendix B is valid and names the first server as conflicting with both others" {
  run --separate-stderr roughtime-query --check-report "$REPORT"
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  [ "${#lines[@]}" -eq 3 ]
  [ "${lines[0]}" = "$REPORT: 3 responses verify and chain; 2 conflicts: malfeasance proven" ]
  [[ "${lines[1]}" == "conflict: responses[0] from $K0 is ahead of responses[1] from $K1 by "*" s beyond both radii" ]]
  [[ "${lines[2]}" == "conflict: responses[0] from $K0 is ahead of responses[2] from $K2 by "*" s beyond both radii" ]]
}

@test "--check-report with -l names the servers as the list does" {
  cat > "$BATS_TEST_TMPDIR/list.json" <<JSON
{"servers": [
 {"name": "first", "version": 1, "publicKeyType": "ed25519", "publicKey": "$K0",
  "addresses": [{"protocol": "udp", "address": "192.0.2.1:2002"}]},
 {"name": "second", "version": 1, "publicKeyType": "ed25519", "publicKey": "$K1",
  "addresses": [{"protocol": "udp", "address": "192.0.2.2:2002"}]}]}
JSON
  run --separate-stderr roughtime-query -l "$BATS_TEST_TMPDIR/list.json" --check-report "$REPORT"
  [ "$status" -eq 0 ]
  [[ "${lines[1]}" == "conflict: responses[0] from first ($K0) is ahead of responses[1] from second ($K1) by "* ]]
  [[ "${lines[2]}" == "conflict: responses[0] from first ($K0) is ahead of responses[2] from $K2 by "* ]]
}

@test "--check-report: a bit flipped in SIG, CERT, INDX, NONC or MIDP fails with EX_DATAERR naming what" {
  for case in "SIG:SREP signature does not verify" "CERT.SIG:DELE signature does not verify" \
              "CERT.DELE.PUBK:DELE signature does not verify" "INDX:INDX does not fit PATH" \
              "NONC:NONC does not echo the request" "SREP.MIDP:SREP signature does not verify" \
              "SREP.ROOT:SREP signature does not verify"; do
    flip "$REPORT" "${case%%:*}" 1 > "$BATS_TEST_TMPDIR/t.json"
    run --separate-stderr roughtime-query --check-report "$BATS_TEST_TMPDIR/t.json"
    echo "$case -> $status: $stderr"
    [ "$status" -eq 65 ]
    [ "$stderr" = "roughtime-query: $BATS_TEST_TMPDIR/t.json: responses[1] from $K1: ${case#*:}" ]
    [ -z "$output" ]
  done
  # appendix B's PATHs are empty: a flipped PATH bit is tested on the batched Cloudflare
  # exchange above.
}

@test "--check-report: a broken chain, a report without conflict, malformed JSON" {
  /usr/bin/python3 - "$REPORT" "$BATS_TEST_TMPDIR" <<'PY'
import base64, json, sys
r = json.load(open(sys.argv[1]))
rand = bytearray(base64.b64decode(r["responses"][2]["rand"])); rand[0] ^= 1
broken = json.loads(json.dumps(r)); broken["responses"][2]["rand"] = base64.b64encode(bytes(rand)).decode()
json.dump(broken, open(sys.argv[2] + "/broken.json", "w"))
calm = {"responses": r["responses"][1:]}   # the two servers that agree
del calm["responses"][0]["rand"]
json.dump(calm, open(sys.argv[2] + "/calm.json", "w"))
open(sys.argv[2] + "/junk.json", "w").write('{"responses": [{"publicKey": "!!"}]}')
PY
  run --separate-stderr roughtime-query --check-report "$BATS_TEST_TMPDIR/broken.json"
  [ "$status" -eq 65 ]
  [ "$stderr" = "roughtime-query: $BATS_TEST_TMPDIR/broken.json: responses[2] from $K2: chain: nonce is not H(previous response || rand)" ]
  run --separate-stderr roughtime-query --check-report "$BATS_TEST_TMPDIR/calm.json"
  [ "$status" -eq 1 ]
  [ "$output" = "$BATS_TEST_TMPDIR/calm.json: 2 responses verify and chain; no conflict" ]
  run --separate-stderr roughtime-query --check-report "$BATS_TEST_TMPDIR/junk.json"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "roughtime-query: $BATS_TEST_TMPDIR/junk.json: responses[0]"* ]]
  run --separate-stderr roughtime-query --check-report "$BATS_TEST_TMPDIR/none.json"
  [ "$status" -eq 66 ]
}
