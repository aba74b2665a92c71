#!/usr/bin/env bats
# timepipe-status(1) over a real composition on loopback: ntp-serve, `ntp-query --follow` and
# discipline, each with its status socket in one directory, their streams teed to files. The
# text and JSON views show the same numbers as the streams: the newest sample's offset, delay and
# reach, the tracking's frequency, ntp-serve's request count against what the client sent.
# Exit codes: 0 all answered, 69 one did not (one line each), 66 none found; section words.
bats_require_minimum_version 1.5.0
load common
load 960-status-lib

setup() {
  require_cmd timepipe-status
  require_cmd ntp-serve
  require_cmd ntp-query
  require_cmd discipline
  require_cmd timecat
  DIR=$BATS_TEST_TMPDIR/run
  mkdir -p "$DIR/client"
}

# compose: the three tools; ntp-query polls every 2 s (the consistency check below needs a
# quiet moment longer than its five reads take with sanitized binaries on a loaded machine:
# with 1 s it found none in 20 tries there). Sets PORT.
compose() {
  PORT=$(free_port)
  ntp-serve --listen "127.0.0.1:$PORT" --stratum 1 --status-socket "$DIR/ntp-serve.sock" \
    2> "$BATS_TEST_TMPDIR/serve.err" &
  track_pid $!
  wait_udp_bound "$PORT"
  # ntp-query's and discipline's sockets one level down, as systemd's RuntimeDirectory makes them.
  ( ntp-query --follow --minpoll 1 --maxpoll 1 -o cbor --status-socket "$DIR/client/ntp-query.sock" \
      "127.0.0.1:$PORT" 2> "$BATS_TEST_TMPDIR/q.err" | tee "$BATS_TEST_TMPDIR/q.cbor" |
    discipline -o cbor --status-socket "$DIR/client/discipline.sock" > "$BATS_TEST_TMPDIR/d.cbor" \
      2> "$BATS_TEST_TMPDIR/d.err" ) 3>&- &
  track_pid $!
  wait_for "$DIR/client/discipline.sock" 'any(r["type"] == "tracking" for r in recs)'
  # Killing the subshell would leave its pipeline running: once it runs, track its processes by
  # their command lines, which name this test's own directory.
  local p
  for p in $(pgrep -f -- "--status-socket $DIR/client/") $(pgrep -f -- "tee $BATS_TEST_TMPDIR/q.cbor"); do
    track_pid "$p"
  done
  wait_for "$DIR/client/ntp-query.sock" 'any(r["type"] == "stats" and r["counters"]["received"] >= 3 for r in recs)'
}

@test "timepipe-status: text and JSON show the numbers the streams carry" {
  compose
  local try stable=no
  # A consistent moment: the JSON view before and after (text and streams read in between) agree
  # on every sample, tracking and counter; the client polls every 2 s, so this comes quickly.
  for try in $(seq 20); do
    timepipe-status -o json "$DIR" > "$BATS_TEST_TMPDIR/v1.json"
    timepipe-status "$DIR" > "$BATS_TEST_TMPDIR/v.txt"
    timecat -o json < "$BATS_TEST_TMPDIR/q.cbor" > "$BATS_TEST_TMPDIR/q.json"
    timecat -o json < "$BATS_TEST_TMPDIR/d.cbor" > "$BATS_TEST_TMPDIR/d.json"
    timepipe-status -o json "$DIR" > "$BATS_TEST_TMPDIR/v2.json"
    /usr/bin/python3 - "$BATS_TEST_TMPDIR/v1.json" "$BATS_TEST_TMPDIR/v2.json" <<'PY' && { stable=yes; break; }
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
# ages move with the reader's clock: everything else must stay
key = lambda v: ([(s["mark"], s["sample"], s["counters"]) for s in v["sources"]],
                 {k: x for k, x in v["tracking"].items() if k != "age"}, [s["counters"] for s in v["servers"]])
sys.exit(0 if key(a) == key(b) else 1)
PY
  done
  [ "$stable" = yes ]
  cat "$BATS_TEST_TMPDIR/v.txt"
  local src="ntp://127.0.0.1:$PORT"
  # The newest sample in ntp-query's stream, and as timecat's text table shows it.
  grep '"type":"sample"' "$BATS_TEST_TMPDIR/q.json" | tail -1 > "$BATS_TEST_TMPDIR/newest.json"
  timecat -i json -o cbor < "$BATS_TEST_TMPDIR/newest.json" | timecat -o text > "$BATS_TEST_TMPDIR/newest.txt"
  grep '"type":"tracking"' "$BATS_TEST_TMPDIR/d.json" | tail -1 > "$BATS_TEST_TMPDIR/tracking.json"
  /usr/bin/python3 - "$BATS_TEST_TMPDIR" "$src" <<'PY'
import json, sys
d, src = sys.argv[1], sys.argv[2]
view = json.load(open(d + "/v1.json"))
newest = json.loads(open(d + "/newest.json").read())
tracking = json.loads(open(d + "/tracking.json").read())
samples = [json.loads(l) for l in open(d + "/q.json") if '"type":"sample"' in l]
text = open(d + "/v.txt").read().splitlines()

# JSON: exactly the stream's numbers.
[s] = [s for s in view["sources"] if s["source"] == src]
for k in ("time", "offset", "delay", "reach", "stratum", "poll", "jitter"):
    assert s["sample"][k] == newest[k], (k, s["sample"][k], newest[k])
assert s["mark"] == "*", s
assert view["tracking"]["frequency"] == tracking["frequency"], (view["tracking"], tracking)
assert view["tracking"]["offset"] == tracking["offset"]
assert view["tracking"]["time"] == tracking["time"]
[srv] = view["servers"]
sent = s["counters"]["sent"]
assert srv["requests"] == sent == srv["counters"]["received"], (srv, s["counters"])
assert srv["answered"] == s["counters"]["received"] == len(samples), (srv, s["counters"], len(samples))
assert {t["tool"] for t in view["tools"]} == {"ntp-serve", "ntp-query", "discipline"}, view["tools"]
assert view["unreachable"] == []

# Text: the sources row is timecat's row for the same sample, the mark in front ("when" aside).
row = [l for l in text if l.startswith("*")]
assert len(row) == 1, text
want = [l for l in open(d + "/newest.txt").read().splitlines() if l.startswith(" ")][-1].split()
got = row[0][1:].split()
assert got[:3] + got[4:] == want[:3] + want[4:], (got, want)
f = tracking["frequency"]
line = "Frequency       : %.3f ppm %s" % (abs(f), "slow" if f >= 0 else "fast")
assert line in text, (line, text)
srv_row = [l.split() for l in text if l.startswith("ntp-serve ")][0]
assert srv_row[1:3] == [str(sent), str(len(samples))], srv_row
PY
}

@test "timepipe-status sources | tracking | servers | tools: one section each; -v adds the legend" {
  compose
  run --separate-stderr timepipe-status sources "$DIR"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "Sources (1)" ]]
  [[ "$output" != *Tracking* ]]
  run --separate-stderr timepipe-status tracking "$DIR"
  [ "${lines[0]}" = Tracking ]
  [[ "$output" == *"Synchronised    : yes"* ]]
  run --separate-stderr timepipe-status servers "$DIR"
  [[ "${lines[0]}" == "NTP server "* ]]
  run --separate-stderr timepipe-status tools "$DIR"
  [ "${#lines[@]}" -eq 4 ]
  run --separate-stderr timepipe-status -v sources "$DIR"
  [[ "$output" == *"Selection mark (discipline)"* ]]
  [[ "$output" == *"sent "* ]]
  # Every line within 79 columns.
  run --separate-stderr timepipe-status -v "$DIR"
  [ "$(awk 'length > 79' <<< "$output" | wc -l)" -eq 0 ]
}

@test "timepipe-status: a socket that does not answer is one line and EX_UNAVAILABLE; none is EX_NOINPUT" {
  compose
  stale_socket "$DIR/dead.sock"
  run --separate-stderr timepipe-status -o json "$DIR"
  [ "$status" -eq 69 ]
  [ "$stderr" = "timepipe-status: $DIR/dead.sock: connection refused (is the tool running?)" ]
  # the others are still shown, the dead one listed
  /usr/bin/python3 -c '
import json, sys
v = json.loads(sys.argv[1])
assert len(v["tools"]) == 3, v["tools"]
assert v["unreachable"] == [{"endpoint": sys.argv[2], "error": "connection refused (is the tool running?)", "exit_code": 69}], v
' "$output" "$DIR/dead.sock"
  run --separate-stderr timepipe-status "$DIR/client/ntp-query.sock" "$BATS_TEST_TMPDIR/missing.sock"
  [ "$status" -eq 69 ]
  [[ "$stderr" == "timepipe-status: $BATS_TEST_TMPDIR/missing.sock: No such file or directory" ]]
  mkdir "$BATS_TEST_TMPDIR/empty"
  run --separate-stderr timepipe-status "$BATS_TEST_TMPDIR/empty"
  [ "$status" -eq 66 ]
  [ "$stderr" = "timepipe-status: no status sockets in $BATS_TEST_TMPDIR/empty" ]
  run --separate-stderr timepipe-status "$BATS_TEST_TMPDIR/nonexistent-dir/"
  [ "$status" -eq 69 ]
}

@test "timepipe-status: a peer that is not a status socket is refused in one line" {
  # A listener that answers garbage, then EOF.
  /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); s.listen(4)
while True:
    c, _ = s.accept(); c.sendall(b"\xa1\x61\x76\x01"); c.close()' "$BATS_TEST_TMPDIR/junk.sock" &
  track_pid $!
  for _ in $(seq 50); do [ -S "$BATS_TEST_TMPDIR/junk.sock" ] && break; sleep 0.1; done
  run --separate-stderr timepipe-status "$BATS_TEST_TMPDIR/junk.sock"
  [ "$status" -eq 69 ]
  [[ "$stderr" == "timepipe-status: $BATS_TEST_TMPDIR/junk.sock: byte 0: "* ]]
}

@test "timepipe-status -h, -V, bad options" {
  run --separate-stderr timepipe-status -h
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
  run --separate-stderr timepipe-status -V
  [ "$output" = "timepipe-status 0.1" ]
  run --separate-stderr timepipe-status -o cbor
  [ "$status" -eq 64 ]
  [ "$stderr" = "timepipe-status: -o: cbor: not text or json" ]
  run --separate-stderr timepipe-status --bogus
  [ "$status" -eq 64 ]
}
