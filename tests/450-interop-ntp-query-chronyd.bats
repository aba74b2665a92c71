#!/usr/bin/env bats
# ntp-query against chronyd 4.x on loopback (chronyd -x: it never touches the clock). Both read
# the same system clock, so a correct client measures an offset of (nearly) zero.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd ntp-query
  require_cmd chronyd
}

# json_field FIELD: the values of FIELD in the JSON lines of $output, one per line.
json_field() {
  printf '%s\n' "$output" | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        print(json.dumps(json.loads(line)[sys.argv[1]]))' "$1"
}

@test "chronyd: offset within 1 ms, delay positive, stratum and refid as chronyd sends them" {
  for stratum in 2 7; do
    port=$(free_port)
    start_chronyd_server "$port" "$stratum"
    run --separate-stderr ntp-query -o json -n 4 "127.0.0.1:$port"
    [ "$status" -eq 0 ]
    [ "$(json_field stratum)" = "$stratum" ]
    # chronyd's local reference (local stratum N) is refid 0x7F7F0101, an IPv4-looking id.
    [ "$(json_field refid)" = '"127.127.1.1"' ]
    [ "$(json_field leap)" = 0 ]
    [ "$(json_field version)" = 4 ]
    /usr/bin/python3 -c 'import sys; o, d = float(sys.argv[1]), float(sys.argv[2]); assert abs(o) < 1e-3 and 0 < d < 1e-2, (o, d)' \
      "$(json_field offset)" "$(json_field delay)"
  done
}

@test "chronyd: --interleaved gives interleaved samples (RFC 9769) and the same time" {
  port=$(free_port)
  start_chronyd_server "$port" 3
  run --separate-stderr ntp-query -o json --interleaved --follow -n 5 --minpoll -4 "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  echo "$output"
  mapfile -t il < <(json_field interleaved)
  [ "${#il[@]}" -eq 5 ]
  # Exchange 1 has nothing to interleave with. chronyd saves a client's transmit timestamps
  # only once the client shows it speaks interleaved (ntp_core.c: "the third reply to a new
  # client is the earliest one that can be interleaved"), so reply 2 is basic too.
  [ "${il[0]}" = false ] && [ "${il[1]}" = false ]
  for i in 2 3 4; do [ "${il[$i]}" = true ]; done
  for o in $(json_field offset); do
    /usr/bin/python3 -c 'import sys; assert abs(float(sys.argv[1])) < 1e-3' "$o"
  done
  # Without --interleaved every sample is basic.
  run --separate-stderr ntp-query -o json --follow -n 3 --minpoll -4 "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  [ "$(json_field interleaved | sort -u)" = false ]
}

@test "chronyd: --follow --minpoll -2 fills the reach register 1, 3, 7, 17" {
  port=$(free_port)
  start_chronyd_server "$port" 3
  run --separate-stderr timeout 10 ntp-query -o json --follow -n 4 --minpoll -2 --maxpoll -2 "127.0.0.1:$port"
  [ "$status" -eq 0 ]
  [ "$(json_field reach | tr '\n' ' ')" = "1 3 7 15 " ]
  [ "$(json_field poll | sort -u)" = "-2" ]
  for j in $(json_field jitter); do
    /usr/bin/python3 -c 'import sys; assert 0 <= float(sys.argv[1]) < 1e-3' "$j"
  done
}

@test "chronyd: a denied client gets no answer (chronyd sends no KoD DENY): EX_UNAVAILABLE" {
  port=$(free_port)
  require_cmd chronyd
  dir=$(mktemp -d "$BATS_TEST_TMPDIR/chrony.XXXX"); chmod 0755 "$dir"
  cat > "$dir/chrony.conf" <<CONF
port $port
bindaddress 127.0.0.1
local stratum 3
allow all
deny 127.0.0.1
cmdport 0
bindcmdaddress /
pidfile $dir/chronyd.pid
driftfile $dir/drift
CONF
  chronyd -x -d -u root -f "$dir/chrony.conf" > "$dir/log" 2>&1 &
  track_pid $!
  wait_udp_bound "$port"
  run --separate-stderr ntp-query -o json -n 2 -t 300ms "127.0.0.1:$port"
  [ "$status" -eq 69 ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: no answer after 2 tries" ]
}

@test "chronyd on ::1: IPv6 samples" {
  port=$(free_port)
  start_chronyd_server "$port" 4 ::1
  run --separate-stderr ntp-query -o json "[::1]:$port"
  [ "$status" -eq 0 ]
  [ "$(json_field source)" = "\"ntp://[::1]:$port\"" ]
  [ "$(json_field stratum)" = 4 ]
  /usr/bin/python3 -c 'import sys; assert abs(float(sys.argv[1])) < 1e-3' "$(json_field offset)"
  run --separate-stderr ntp-query -o json --interleaved --follow -n 3 --minpoll -4 "[::1]:$port"
  [ "$status" -eq 0 ]
  [ "$(json_field interleaved | tail -1)" = true ]
}

@test "chronyd: ntp-query --follow feeds the stream to timecat through a pipe" {
  port=$(free_port)
  start_chronyd_server "$port" 3
  run bash -c "ntp-query --follow -n 3 --minpoll -4 127.0.0.1:$port | timecat -o json"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 3 ]
  [[ "${lines[2]}" == *'"reach":7'* ]]
}
