#!/usr/bin/env bats
# ntp-query against ntp-serve on loopback: what chronyd 4.3 cannot show (its ratelimit has no
# kod option and `deny` drops requests silently): kiss-o'-death RATE, DENY and RSTR, and the
# interleaved mode of our own server.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd ntp-query
  require_cmd ntp-serve
}

# start_ntp_serve PORT [OPTIONS...]: ntp-serve on 127.0.0.1:PORT serving its clock at stratum 2.
start_ntp_serve() {
  local port=$1; shift
  ntp-serve -l "127.0.0.1:$port" -s 2 "$@" 2>"$BATS_TEST_TMPDIR/ntp-serve.$port.log" &
  track_pid $!
  wait_udp_bound "$port"
}

json_field() {
  printf '%s\n' "$output" | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        print(json.dumps(json.loads(line)[sys.argv[1]]))' "$1"
}

@test "ntp-serve: basic and interleaved samples, offset within 1 ms" {
  port=$(free_port)
  start_ntp_serve "$port"
  run --separate-stderr ntp-query -o json "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  [ "$(json_field stratum)" = 2 ]
  /usr/bin/python3 -c 'import sys; assert abs(float(sys.argv[1])) < 1e-3' "$(json_field offset)"
  run --separate-stderr ntp-query -o json --interleaved --follow -n 4 --minpoll -4 "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  [ "$(json_field interleaved | tr '\n' ' ')" = "false true true true " ]
}

@test "ntp-serve --interleaved off: ntp-query falls back to basic samples" {
  port=$(free_port)
  start_ntp_serve "$port" --interleaved off
  run --separate-stderr ntp-query -o json --interleaved --follow -n 6 --minpoll -4 "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  [ "$(json_field interleaved | sort -u)" = false ]
  [ "$(json_field reach | tail -1)" = 63 ]
}

@test "ntp-serve --deny: kiss-o'-death DENY, one line, EX_PROTOCOL" {
  port=$(free_port)
  start_ntp_serve "$port" --deny 127.0.0.1/32 --deny-kod on
  run --separate-stderr ntp-query -o json "127.0.0.1:$port"
  [ "$status" -eq 76 ]
  [ -z "$output" ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: kiss-o'-death DENY: server refuses service" ]
}

@test "ntp-serve --restrict: kiss-o'-death RSTR demobilises the --follow source" {
  port=$(free_port)
  start_ntp_serve "$port" --restrict 127.0.0.1/32
  run --separate-stderr timeout 5 ntp-query -o json --follow --minpoll -4 "127.0.0.1:$port"
  [ "$status" -eq 76 ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: kiss-o'-death RSTR: server restricts access" ]
}

@test "ntp-serve --rate-limit: kiss-o'-death RATE doubles the poll interval" {
  port=$(free_port)
  start_ntp_serve "$port" --rate-limit 0.5/1
  run --separate-stderr timeout 20 ntp-query -o json --follow -n 3 --minpoll 0 --maxpoll 4 "127.0.0.1:$port"
  echo "$output"; echo "$stderr"
  [ "$status" -eq 0 ]
  [[ "$stderr" == *"ntp-query: 127.0.0.1:$port: kiss-o'-death RATE: server asks to slow down: polling every 2^1 s"* ]]
  mapfile -t polls < <(json_field poll)
  [ "${polls[0]}" = 0 ]
  [ "${polls[2]}" -ge 1 ]
}
