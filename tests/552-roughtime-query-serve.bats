#!/usr/bin/env bats
# roughtime-query against roughtime-serve on loopback: a verified round trip in every version over
# UDP, TCP and IPv6; the sample record's keys, read back by timecat; a measurement sequence over
# three servers of which one serves a time a day off: one line per conflicting pair, all naming
# that server, EX_PROTOCOL, and a malfeasance report that --check-report confirms.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd roughtime-query
  require_cmd roughtime-serve   # a missing server is a failure, never a skip
  require_cmd timecat
}

# start_serve NAME PORT [ARGS...]: a roughtime-serve with a fresh key on 127.0.0.1:PORT and
# [::1]:PORT; sets KEY to its public key (base64).
start_serve() {
  local name=$1 port=$2
  shift 2
  KEY=$(roughtime-serve --keygen "$BATS_TEST_TMPDIR/$name.key" | sed -n 's/^public key (base64): //p')
  [ -n "$KEY" ]
  roughtime-serve -k "$BATS_TEST_TMPDIR/$name.key" -l "127.0.0.1:$port" -l "[::1]:$port" "$@" \
    2> "$BATS_TEST_TMPDIR/$name.log" &
  track_pid $!
  wait_udp_bound "$port"
}

@test "a verified round trip in every version, over UDP, TCP and IPv6" {
  port=$(free_port)
  start_serve s "$port"
  for transport in "" --tcp; do
    for set in rfc draft-12 draft-11 draft-08 google ietf; do
      [ "$transport" = --tcp ] && [ "$set" = google ] && continue
      for addr in "127.0.0.1:$port" "[::1]:$port"; do
        run --separate-stderr roughtime-query -o json $transport --version-set "$set" "$addr" "$KEY"
        echo "$transport $set $addr -> $status: $output $stderr"
        [ "$status" -eq 0 ]
        [ -z "$stderr" ]
        want=$set; [ "$set" = ietf ] && want=rfc   # the newest shared version is chosen
        echo "$output" | /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r["roughtime_version"] == sys.argv[1], r
assert r["source"] == "roughtime://" + sys.argv[2], r
assert r["verified"] is True and abs(r["offset"]) < 2 and 0 < r["delay"] < 1 and r["root_dispersion"] == 3.0 and r["dispersion"] == 0, r
' "$want" "$addr"
      done
    done
  done
}

@test "-o json: exactly the sample keys plus roughtime_version and verified; timecat reads the CBOR" {
  port=$(free_port)
  start_serve s "$port" --radius 2s
  run --separate-stderr roughtime-query -o json -n 2 "127.0.0.1:$port" "$KEY"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  echo "${lines[0]}" | /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
want = ["v", "type", "source", "time", "offset", "delay", "dispersion", "stratum", "leap", "refid", "poll",
        "root_dispersion", "roughtime_version", "verified"]
assert list(r) == want, list(r)
assert r["type"] == "sample" and r["stratum"] == 1 and r["refid"] == "ROUG" and r["leap"] == 0 and r["poll"] == 0, r
assert r["dispersion"] == 0 and r["root_dispersion"] == 2.0 and "root_delay" not in r, r
'
  roughtime-query "127.0.0.1:$port" "$KEY" > "$BATS_TEST_TMPDIR/out.cbor"
  run --separate-stderr timecat -o json "$BATS_TEST_TMPDIR/out.cbor"
  [ "$status" -eq 0 ]
  [[ "$output" == '{"v":1,"type":"sample","source":"roughtime://127.0.0.1:'"$port"'",'*'"refid":"ROUG"'*'"roughtime_version":"rfc","verified":true}' ]]
}

@test "text on a terminal: server, UTC time, radius, round trip, version" {
  port=$(free_port)
  start_serve s "$port"
  run --separate-stderr roughtime-query -o text "127.0.0.1:$port" "$KEY"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "server  time (UTC)  ±radius  round trip  offset  version" ]
  [[ "${lines[1]}" =~ ^127\.0\.0\.1:$port\ \ 20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-9:]{8}Z\ \ ±3\ s\ \ rtt\ .*\ \ rfc$ ]]
}

@test "the wrong public key: one line naming the failed check, EX_PROTOCOL, no time printed" {
  port=$(free_port)
  start_serve s "$port"
  other=$(roughtime-serve --keygen "$BATS_TEST_TMPDIR/other.key" | sed -n 's/^public key (base64): //p')
  # rfc and draft-12 send SRV: a server without that key stays silent; asked once without SRV
  # it answers, and the answer says the key is wrong (not "no answer", not all the retries).
  for transport in "" --tcp; do
    run --separate-stderr roughtime-query -o json -t 2s --retries 5 $transport "127.0.0.1:$port" "$other"
    echo "$transport: $status $stderr"
    [ "$status" -eq 76 ]
    [ "$stderr" = "roughtime-query: 127.0.0.1:$port: answers do not verify with this public key: DELE signature does not verify (it ignores requests naming this key in SRV)" ]
    [ -z "$output" ]
  done
  # Each try is a line with -v: one with SRV, the probe without, and no more.
  run --separate-stderr roughtime-query -v -o json -t 100ms --retries 5 "127.0.0.1:$port" "$other"
  [ "$status" -eq 76 ]
  [ "$(printf '%s\n' "$stderr" | grep -c ': try [0-9]*: ')" -eq 1 ]
  # draft 08 has no SRV: the server answers with its own key, which does not verify under ours
  run --separate-stderr roughtime-query -o json -t 100ms --retries 1 --version-set draft08 "127.0.0.1:$port" "$other"
  [ "$status" -eq 76 ]
  [ "$stderr" = "roughtime-query: 127.0.0.1:$port: answers do not verify with this public key: DELE signature does not verify" ]
  [ -z "$output" ]
  # A server that is really silent is still "no answer".
  dead=$(free_port)
  run --separate-stderr roughtime-query -o json -t 100ms --retries 1 --tcp "127.0.0.1:$dead" "$other"
  [ "$status" -eq 69 ]
}

@test "a name with several addresses: each is tried in turn, a dead IPv6 one does not hide IPv4" {
  [ "$(id -u)" -eq 0 ] || { echo "needs root for a mount namespace"; return 1; }
  port=$(free_port)
  KEY=$(roughtime-serve --keygen "$BATS_TEST_TMPDIR/k" | sed -n 's/^public key (base64): //p')
  roughtime-serve -k "$BATS_TEST_TMPDIR/k" -l "127.0.0.1:$port" 2> "$BATS_TEST_TMPDIR/serve.log" &
  track_pid $!
  wait_udp_bound "$port"
  printf '::1 rt-two.test\n127.0.0.1 rt-two.test\n' > "$BATS_TEST_TMPDIR/hosts"
  # Our own /etc/hosts in a mount namespace of this command only.
  in_ns() {
    unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$BATS_TEST_TMPDIR/hosts" "$@"
  }
  run in_ns getent ahosts rt-two.test
  [ "${lines[0]%% *}" = "::1" ]   # the dead address comes first
  for transport in "" --tcp; do
    run --separate-stderr in_ns roughtime-query -o json -t 500ms --retries 0 $transport "rt-two.test:$port" "$KEY"
    echo "$transport: $status $output $stderr"
    [ "$status" -eq 0 ]
    [[ "$output" == *'"verified":true'* ]]
    [ -z "$stderr" ]
  done
  # Every address dead: the first one's reason and how many were tried.
  dead=$(free_port)
  run --separate-stderr in_ns roughtime-query -o json -t 100ms --retries 0 --tcp "rt-two.test:$dead" "$KEY"
  [ "$status" -eq 69 ]
  [ "$stderr" = "roughtime-query: rt-two.test:$dead: no answer after 1 try (connection refused) (2 addresses tried)" ]
}

@test "a measurement sequence over three servers, one a day off: conflicts name it, report confirmed" {
  list=$BATS_TEST_TMPDIR/list.json
  printf '{"servers": [' > "$list"
  for i in 1 2 3; do
    port=$(free_port)
    if [ "$i" = 2 ]; then start_serve "s$i" "$port" --offset -86400; bad=$KEY; bad_port=$port; else start_serve "s$i" "$port"; fi
    [ "$i" = 1 ] || printf ',' >> "$list"
    printf '{"name": "server%d", "version": 1, "publicKeyType": "ed25519", "publicKey": "%s",
      "addresses": [{"protocol": "udp", "address": "127.0.0.1:%d"}, {"protocol": "tcp", "address": "127.0.0.1:%d"}]}' \
      "$i" "$KEY" "$port" "$port" >> "$list"
  done
  printf ']}\n' >> "$list"
  for transport in "" --tcp; do
    rm -f "$BATS_TEST_TMPDIR/report.json"
    run --separate-stderr roughtime-query -o json $transport -l "$list" --report "$BATS_TEST_TMPDIR/report.json"
    echo "$transport -> $status"; echo "$stderr"
    [ "$status" -eq 76 ]
    conflicts=$(printf '%s\n' "$stderr" | grep -c '^roughtime-query: causality violation: ')
    [ "$conflicts" -ge 2 ]
    [ "${#lines[@]}" -eq $((6 + conflicts)) ]   # three servers, twice; then the conflicts
    # Each server twice, the second round in the order of the first; no sample of the chain is
    # written as good (every server conflicts with server2), and every conflict is a record
    # naming server2 as the one behind.
    order=$(printf '%s\n' "${lines[@]}" | /usr/bin/python3 -c '
import json, sys
recs = [json.loads(l) for l in sys.stdin]
samples = [r for r in recs[:6] if r["type"] == "sample"]
assert len(samples) == 6, recs
for r in samples:
    assert r["verified"] is False and r["conflict"] is True, r
bad = sys.argv[1]
for c in recs[6:]:
    assert c["type"] == "roughtime_conflict", c
    assert c["later_source"] == bad and c["source"] != bad, c
    assert c["excess"] > 80000 and c["later_step"] > c["earlier_step"], c
    assert c["earlier_midpoint"] - c["later_midpoint"] > 80000e9, c
print(" ".join(r["source"] for r in samples))' "roughtime://127.0.0.1:$bad_port")
    set -- $order
    [ "$1 $2 $3" = "$4 $5 $6" ] && [ "$(printf '%s\n' $1 $2 $3 | sort -u | wc -l)" -eq 3 ]
    # every conflicting pair involves server2, and server2 is always the one behind
    [ "$(printf '%s\n' "$stderr" | grep '^roughtime-query: causality violation: ' | grep -vc 'ahead of responses\[[0-9]*\] from server2 by')" -eq 0 ]
    [[ "$stderr" == *"roughtime-query: $BATS_TEST_TMPDIR/report.json: malfeasance report written"* ]]
    run --separate-stderr roughtime-query --check-report "$BATS_TEST_TMPDIR/report.json"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "$BATS_TEST_TMPDIR/report.json: 6 responses verify and chain; $conflicts conflicts: malfeasance proven" ]
    [ "$(printf '%s\n' "${lines[@]:1}" | grep -vc "from $bad by ")" -eq 0 ]
    run --separate-stderr roughtime-query -l "$list" --check-report "$BATS_TEST_TMPDIR/report.json"
    [ "$status" -eq 0 ]
    [ "$(printf '%s\n' "${lines[@]:1}" | grep -vc "from server2 ($bad) by ")" -eq 0 ]
  done
  # timecat shows the conflict records (generically) and the samples marked in conflict.
  roughtime-query -o cbor -l "$list" > "$BATS_TEST_TMPDIR/chain.cbor" 2>/dev/null || [ $? -eq 76 ]
  run --separate-stderr timecat -o text "$BATS_TEST_TMPDIR/chain.cbor"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "${lines[@]}" | grep -c "^roughtime_conflict source=roughtime://127.0.0.1:[0-9]* .*later_source=roughtime://127.0.0.1:$bad_port")" -ge 2 ]
  run --separate-stderr roughtime-query -o text -l "$list"
  [ "$status" -eq 76 ]
  [ "$(printf '%s\n' "${lines[@]}" | grep -c '  CONFLICT$')" -eq 6 ]
  [ "$(printf '%s\n' "${lines[@]}" | grep -c '^conflict: .* is ahead of server2 (response [0-9]*) by ')" -ge 2 ]
}

@test "a measurement sequence of honest servers: six samples, exit 0, no report; a dead server is one line" {
  list=$BATS_TEST_TMPDIR/list.json
  dead=$(free_port)
  printf '{"servers": [' > "$list"
  for i in 1 2 3; do
    port=$(free_port)
    start_serve "s$i" "$port"
    printf '{"name": "ok%d", "version": 1, "publicKeyType": "ed25519", "publicKey": "%s",
      "addresses": [{"protocol": "udp", "address": "127.0.0.1:%d"}]},' "$i" "$KEY" "$port" >> "$list"
  done
  printf '{"name": "dead", "publicKeyType": "ed25519", "publicKey": "%s",
      "addresses": [{"protocol": "udp", "address": "127.0.0.1:%d"}]}]}\n' "$KEY" "$dead" >> "$list"
  run --separate-stderr roughtime-query -o json --retries 0 -l "$list" --pick 3 --report "$BATS_TEST_TMPDIR/r.json"
  echo "$stderr"
  [ "$status" -eq 0 ]
  [ ! -e "$BATS_TEST_TMPDIR/r.json" ]
  run --separate-stderr roughtime-query -o json --retries 0 -l "$list" --report "$BATS_TEST_TMPDIR/r.json"
  echo "$stderr"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 6 ]
  printf '%s\n' "${lines[@]}" | /usr/bin/python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    assert r["type"] == "sample" and r["verified"] is True and "conflict" not in r, r'
  [ "$(printf '%s\n' "$stderr" | grep -c "^roughtime-query: dead: no answer after 1 try (connection refused)$")" -eq 2 ]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 2 ]
  [ ! -e "$BATS_TEST_TMPDIR/r.json" ]
}
