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
fake_server() {
  /usr/bin/python3 - "$1" "$2" <<'PY' &
import socket, struct, sys, time
port, how = int(sys.argv[1]), sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", port))
def ntp_now():
    t = time.time() + 2208988800
    return (int(t) << 32) | int((t % 1) * 2**32)
while True:
    data, peer = s.recvfrom(1024)
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
  start=$(date +%s%N)
  run --separate-stderr ntp-query -o json -t 2s "127.0.0.1:$port"
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$status" -eq 69 ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: no answer after 4 tries" ]
  [ -z "$output" ]
  [ "$elapsed" -lt 2000 ]   # ICMP port unreachable ends each try; no 4 x 2 s wait
}

@test "a silent server: EX_UNAVAILABLE after -n tries of -t each" {
  port=$(free_port)
  fake_server "$port" silent
  start=$(date +%s%N)
  run --separate-stderr ntp-query -o json -n 3 -t 200ms "127.0.0.1:$port"
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "elapsed ${elapsed} ms"
  [ "$status" -eq 69 ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: no answer after 3 tries" ]
  [ "$elapsed" -ge 600 ] && [ "$elapsed" -lt 1500 ]
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
        "root_delay", "root_dispersion", "jitter", "reach", "precision", "version", "interleaved"]
assert list(r) == want, list(r)
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
  # Through a pipe the first record arrives long before the process ends (polls are 1 s apart).
  ntp-query -o json --follow -n 2 --minpoll 0 "127.0.0.1:$port" > "$BATS_TEST_TMPDIR/f.json" &
  pid=$!; track_pid $pid
  sleep 0.5
  [ "$(wc -l < "$BATS_TEST_TMPDIR/f.json")" -eq 1 ]
  wait $pid
  [ "$(wc -l < "$BATS_TEST_TMPDIR/f.json")" -eq 2 ]
}

@test "--follow: -x stops it, SIGTERM ends it with status 0" {
  port=$(free_port)
  start_chronyd_server "$port" 3
  start=$(date +%s%N)
  run --separate-stderr ntp-query -o json --follow -x 700ms --minpoll -3 "127.0.0.1:$port"
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -ge 3 ] && [ "$elapsed" -lt 2000 ]
  ntp-query -o json --follow --minpoll -3 "127.0.0.1:$port" > "$BATS_TEST_TMPDIR/t.json" &
  pid=$!; track_pid $pid
  sleep 0.6
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
  [ "$status" -eq 76 ]
  [ -z "$output" ]
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
