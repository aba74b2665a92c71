#!/usr/bin/env bats
# ntp-query: options, output formats, exit statuses and error lines. Servers are chronyd on
# loopback (tests/common.bash) or, for replies chronyd never sends (kisses, unsynchronised,
# spoofed origins, silence), a few lines of Python answering on loopback.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd ntp-query
  require_cmd timecat
}

# fake_server PORT BEHAVIOUR: answers every request on 127.0.0.1:PORT with
#   silent      nothing at all                  kod:CODE   a kiss-o'-death with CODE
#   unsync      leap 3, stratum 2, real times    bogus      a good reply with a wrong origin
#   ahead       a good reply, 10 s ahead of this host's clock
# and appends the kernel receive time (ns) of each request to $BATS_TEST_TMPDIR/requests.PORT.
fake_server() {
  /usr/bin/python3 - "$1" "$2" "$BATS_TEST_TMPDIR/requests.$1" <<'PY' &
import socket, struct, sys, time
port, how, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", port))
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; older Pythons lack the name
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
def ntp_now():
    t = time.time() + 2208988800
    return (int(t) << 32) | int((t % 1) * 2**32)
while True:
    data, anc, _, peer = s.recvmsg(1024, 64)
    for level, kind, value in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack("qq", value[:16])
            with open(log, "a") as f:
                f.write("%d\n" % (sec * 10**9 + nsec))
    if how == "silent" or len(data) < 48:
        continue
    origin = struct.unpack("!Q", data[40:48])[0]
    li, stratum, refid, rx, tx = 0, 2, b"\x7f\x7f\x01\x01", ntp_now(), ntp_now()
    if how.startswith("kod:"):
        li, stratum, refid, rx, tx = 3, 0, how[4:].encode().ljust(4, b"\0"), 0, 0
    elif how == "unsync":
        li = 3
    elif how == "bogus":
        origin ^= 0xdeadbeef
    elif how == "ahead":
        rx, tx = rx + (10 << 32), tx + (10 << 32)
    hdr = struct.pack("!BBbb", (li << 6) | (4 << 3) | 4, stratum, 0, -20)
    s.sendto(hdr + struct.pack("!II4sQQQQ", 0, 0, refid, rx, origin, rx, tx), peer)
PY
  track_pid $!
  wait_udp_bound "$1"
}

# wait_lines FILE N: until FILE has N lines (a hang guard of 30 s, not a timed assertion).
wait_lines() {
  local i
  for i in $(seq 300); do
    [ "$(wc -l < "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "$1: fewer than $2 lines after 30 s" >&2
  return 1
}

@test "--help and -h print usage on stdout and exit 0" {
  run --separate-stderr ntp-query --help
  [ "$status" -eq 0 ]
  [[ "$output" == usage:\ ntp-query* ]]
  [[ "$output" == *--interleaved* ]] && [[ "$output" == *--follow* ]] && [[ "$output" == *--max-sources* ]]
  [ -z "$stderr" ]
  run ntp-query -h
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
}

@test "-V prints the version" {
  run ntp-query -V
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^ntp-query\ [0-9] ]]
}

@test "bad options are one line on stderr and EX_USAGE" {
  for args in "--bogus 127.0.0.1" "-q 127.0.0.1" "-o xml 127.0.0.1" "-n 0 127.0.0.1" "-t soon 127.0.0.1" \
              "--minpoll 99 127.0.0.1" "--ntp-version 5 127.0.0.1" "-n" "" "127.0.0.1:0" "[::1"; do
    run --separate-stderr ntp-query $args
    echo "args: $args -> $status: $stderr"
    [ "$status" -eq 64 ]
    [ -z "$output" ]
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == ntp-query:\ * ]]
  done
  run --separate-stderr ntp-query -o xml 127.0.0.1
  [ "$stderr" = 'ntp-query: -o: unknown output format "xml" (text, json or cbor)' ]
  run --separate-stderr ntp-query -t soon 127.0.0.1
  [ "$stderr" = 'ntp-query: -t: bad duration "soon": not a number' ]
  run --separate-stderr ntp-query -x 1e3 127.0.0.1
  [ "$stderr" = 'ntp-query: -x: bad duration "1e3": unknown unit "e3" (ns, us, ms, s, m, h)' ]
}

@test "a name that does not resolve: EX_NOHOST with the name and the reason" {
  run --separate-stderr ntp-query -o json nonexistent.invalid
  [ "$status" -eq 68 ]
  [ "$stderr" = "ntp-query: nonexistent.invalid: name or service not known" ]
  [ -z "$output" ]
}

@test "a refused port: EX_UNAVAILABLE, no answer after 4 tries, at once" {
  port=$(free_port)
  # With a timeout of an hour only the ICMP port unreachable can end each try: a client that
  # waited for the timeout would be killed by the hang guard (status 124), not finish.
  run --separate-stderr timeout 60 ntp-query -o json -t 1h "127.0.0.1:$port"
  [ "$status" -eq 69 ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: no answer after 4 tries" ]
  [ -z "$output" ]
}

@test "a silent server: EX_UNAVAILABLE after -n tries of -t each" {
  port=$(free_port)
  fake_server "$port" silent
  run --separate-stderr timeout 60 ntp-query -o json -n 3 -t 200ms "127.0.0.1:$port"
  [ "$status" -eq 69 ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: no answer after 3 tries" ]
  # The server saw exactly 3 requests, each try sent only once the one before had waited its
  # 200 ms (kernel receive times; a timer never fires early).
  run cat "$BATS_TEST_TMPDIR/requests.$port"
  echo "$output"
  [ "${#lines[@]}" -eq 3 ]
  [ $(( lines[1] - lines[0] )) -ge 200000000 ] && [ $(( lines[2] - lines[1] )) -ge 200000000 ]
}

@test "-o json: one sample line with exactly the stream keys" {
  port=$(free_port)
  start_chronyd_server "$port" 3
  run --separate-stderr ntp-query -o json "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  echo "$output" | /usr/bin/python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
want = ["v", "type", "source", "time", "offset", "delay", "dispersion", "stratum", "leap", "refid", "poll",
        "root_delay", "root_dispersion", "jitter", "reach", "precision", "version", "interleaved", "auth"]
assert list(r) == want, list(r)
assert r["auth"] == "none", r          # plain NTP: anyone on the path could have written it
assert r["v"] == 1 and r["type"] == "sample" and r["source"] == "ntp://127.0.0.1:'"$port"'", r
assert r["stratum"] == 3 and r["leap"] == 0 and r["version"] == 4 and r["interleaved"] is False, r
assert r["reach"] == 0o17, r          # 4 tries, 4 answers
assert isinstance(r["time"], int) and r["delay"] > 0 and r["dispersion"] > 0, r
assert abs(r["offset"]) < 0.001, r
'
}

@test "-o cbor (and the default on a pipe) is read back by timecat" {
  port=$(free_port)
  start_chronyd_server "$port" 4
  ntp-query -o cbor -n 2 "127.0.0.1:$port" > "$BATS_TEST_TMPDIR/out.cbor"
  run timecat -o json "$BATS_TEST_TMPDIR/out.cbor"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$output" == *'"type":"sample"'* ]] && [[ "$output" == *'"stratum":4'* ]] && [[ "$output" == *'"reach":3'* ]]
  ntp-query -n 1 "127.0.0.1:$port" > "$BATS_TEST_TMPDIR/default.out"   # stdout is no terminal
  run timecat -o json "$BATS_TEST_TMPDIR/default.out"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"reach":1'* ]]
}

@test "-n sets the exchanges per server: reach shows them" {
  port=$(free_port)
  start_chronyd_server "$port" 3
  for n in 1 2 3 8; do
    run --separate-stderr ntp-query -o json -n "$n" "127.0.0.1:$port"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"\"reach\":$(( (1 << n) - 1 ))"* ]]
  done
}

@test "--follow -n 3 stops after 3 records, each flushed as it comes" {
  port=$(free_port)
  start_chronyd_server "$port" 3
  run --separate-stderr timeout 10 ntp-query -o json --follow -n 3 --minpoll -4 "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 3 ]
  # Through a pipe each record arrives while the process still runs: with no -n it never ends
  # by itself, so a record it held back would show only after the SIGTERM below.
  ntp-query -o json --follow --minpoll 0 "127.0.0.1:$port" > "$BATS_TEST_TMPDIR/f.json" &
  pid=$!; track_pid $pid
  wait_lines "$BATS_TEST_TMPDIR/f.json" 1
  kill -0 $pid
  kill -TERM $pid
  wait $pid
}

@test "--follow: -x stops it, SIGTERM ends it with status 0" {
  port=$(free_port)
  start_chronyd_server "$port" 3
  # Without -x it would poll for ever and the hang guard would end it (124). Every record it
  # wrote was taken within the 700 ms: the span of the records' own times says so.
  run --separate-stderr timeout 60 ntp-query -o json --follow -x 700ms --minpoll -3 "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -ge 2 ]
  printf '%s\n' "${lines[@]}" | /usr/bin/python3 -c '
import json, sys
t = [json.loads(l)["time"] for l in sys.stdin]
assert t == sorted(t) and t[-1] - t[0] < 700_000_000, t'
  ntp-query -o json --follow --minpoll -3 "127.0.0.1:$port" > "$BATS_TEST_TMPDIR/t.json" &
  pid=$!; track_pid $pid
  wait_lines "$BATS_TEST_TMPDIR/t.json" 2
  kill -TERM $pid
  wait $pid
  [ "$(wc -l < "$BATS_TEST_TMPDIR/t.json")" -ge 2 ]
}

@test "text: an ntpq -p style table" {
  port=$(free_port)
  start_chronyd_server "$port" 3
  run --separate-stderr ntp-query -o text "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 3 ]
  read -r -a head <<< "${lines[0]}"
  [ "${head[*]}" = "remote refid st when poll reach delay offset +/- jitter" ]
  [[ "${lines[1]}" =~ ^=+$ ]]
  read -r -a row <<< "${lines[2]}"
  [ "${row[0]}" = "127.0.0.1:$port" ] && [ "${row[1]}" = "127.127.1.1" ] && [ "${row[2]}" = 3 ]
  [ "${row[5]}" = 17 ]   # reach, octal
}

@test "several servers: selection marks the system peer and the falseticker" {
  p1=$(free_port); start_chronyd_server "$p1" 2
  p2=$(free_port); start_chronyd_server "$p2" 3
  p3=$(free_port); start_chronyd_server "$p3" 4
  p4=$(free_port); fake_server "$p4" ahead
  p5=$(free_port); fake_server "$p5" silent
  run --separate-stderr ntp-query -o text -t 300ms 127.0.0.1:$p1 127.0.0.1:$p2 127.0.0.1:$p3 127.0.0.1:$p4 \
      127.0.0.1:$p5
  echo "$output"
  [ "$status" -eq 0 ]                                # time from at least one server
  [ "$stderr" = "ntp-query: 127.0.0.1:$p5: no answer after 4 tries" ]
  [ "${#lines[@]}" -eq 6 ]
  [ "$(printf '%s\n' "${lines[@]:2}" | grep -c '^[*]')" -eq 1 ]
  [ "$(printf '%s\n' "${lines[@]:2}" | grep -c '^[*+]')" -eq 3 ]
  [[ "${lines[5]}" == "x127.0.0.1:$p4 "* ]]           # 10 s off: the falseticker
}

@test "IPv6: [::1]:port and -6" {
  port=$(free_port)
  start_chronyd_server "$port" 5 ::1
  run --separate-stderr ntp-query -o json -6 "[::1]:$port"
  [ "$status" -eq 0 ]
  [[ "$output" == *"\"source\":\"ntp://[::1]:$port\""* ]] && [[ "$output" == *'"stratum":5'* ]]
  run --separate-stderr ntp-query -o json -4 "[::1]:$port"
  [ "$status" -eq 68 ]
  [ "$stderr" = "ntp-query: [::1]:$port: not an IPv4 address" ]
}

@test "kiss-o'-death DENY and RSTR: one line, EX_PROTOCOL" {
  for code in DENY RSTR; do
    port=$(free_port)
    fake_server "$port" "kod:$code"
    run --separate-stderr ntp-query -o json "127.0.0.1:$port"
    [ "$status" -eq 76 ]
    [ -z "$output" ]
    case $code in
      DENY) [ "$stderr" = "ntp-query: 127.0.0.1:$port: kiss-o'-death DENY: server refuses service" ] ;;
      RSTR) [ "$stderr" = "ntp-query: 127.0.0.1:$port: kiss-o'-death RSTR: server restricts access" ] ;;
    esac
  done
}

@test "--follow: DENY demobilises the source and ends the run" {
  port=$(free_port)
  fake_server "$port" kod:DENY
  run --separate-stderr timeout 5 ntp-query -o json --follow --minpoll -4 "127.0.0.1:$port"
  [ "$status" -eq 76 ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: kiss-o'-death DENY: server refuses service" ]
}

@test "an unsynchronised server is refused and said so" {
  port=$(free_port)
  fake_server "$port" unsync
  run --separate-stderr ntp-query -o json -n 2 "127.0.0.1:$port"
  [ "$status" -eq 69 ]
  [[ "$output" == *'"leap":3'* ]]  # shown, never used (tests/102-ntp-query-sources.bats)
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: server is not synchronised" ]
}

@test "a reply whose origin is not our transmit is never accepted" {
  port=$(free_port)
  fake_server "$port" bogus
  run --separate-stderr ntp-query -o json -n 2 -t 200ms "127.0.0.1:$port"
  [ "$status" -eq 69 ]
  [ -z "$output" ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: no answer after 2 tries" ]
}

@test "a source that cannot even be reached locally is one line, not the end of the others" {
  port=$(free_port)
  start_chronyd_server "$port" 3
  run --separate-stderr ntp-query -o json '[fe80::1%99]:123' "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "$stderr" == "ntp-query: [fe80::1%99]:123: "* ]]
  run --separate-stderr ntp-query -o json '[fe80::1%99]:123'
  [ "$status" -eq 71 ]
}
