#!/usr/bin/env bats
# ntp-query and the state of its sources: unsynchronised servers (ntp-serve without time and
# chronyd without `local stratum` answer leap 3, stratum 0: no kiss), sources that stop
# answering and come back, and names that resolve late, slowly or to new addresses.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd ntp-query
  require_cmd ntp-serve
}

# start_ntp_serve ADDRESS PORT [OPTIONS...]: ntp-serve on ADDRESS:PORT; sets SERVE_PID.
# Without -s or --upstream it has no time and answers unsynchronised.
start_ntp_serve() {
  local addr=$1 port=$2; shift 2
  ntp-serve -l "$addr:$port" "$@" 2>>"$BATS_TEST_TMPDIR/ntp-serve.log" &
  SERVE_PID=$!
  track_pid "$SERVE_PID"
  for _ in $(seq 50); do
    ss -Hnlu "src $addr and sport = :$port" | grep -q . && return 0
    sleep 0.1
  done
  echo "ntp-serve did not bind $addr:$port" >&2
  return 1
}

# start_chronyd_unsynchronised PORT: a chronyd with neither sources nor `local stratum`,
# which answers every request with leap 3, stratum 0 (as tests/common.bash starts chronyd).
start_chronyd_unsynchronised() {
  local port=$1
  require_cmd chronyd
  CHRONY_DIR=$(mktemp -d "$BATS_TEST_TMPDIR/chrony.XXXX")
  chmod 0755 "$CHRONY_DIR"
  cat > "$CHRONY_DIR/chrony.conf" <<CONF
port $port
bindaddress 127.0.0.1
allow all
cmdport 0
pidfile $CHRONY_DIR/chronyd.pid
driftfile $CHRONY_DIR/drift
CONF
  chronyd -x -d -u root -f "$CHRONY_DIR/chrony.conf" > "$CHRONY_DIR/log" 2>&1 &
  track_pid $!
  wait_udp_bound "$port"
}

field() {  # field KEY: that key of every JSON line of $output, one per line
  printf '%s\n' "$output" | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        print(json.dumps(json.loads(line)[sys.argv[1]]))' "$1"
}

# --- unsynchronised servers -------------------------------------------------------------------

@test "an unsynchronised ntp-serve: its sample is shown with leap 3 / stratum 0, exit 69, no kiss" {
  port=$(free_port)
  start_ntp_serve 127.0.0.1 "$port"
  run --separate-stderr ntp-query -o json -n 2 "127.0.0.1:$port"
  echo "$output"; echo "$stderr"
  [ "$status" -eq 69 ]
  [ "$(field leap)" = 3 ]
  [ "$(field stratum)" = 0 ]
  [ "$(field reach)" = 3 ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: server is not synchronised" ]
}

@test "an unsynchronised chronyd: the same" {
  port=$(free_port)
  start_chronyd_unsynchronised "$port"
  run --separate-stderr ntp-query -o json -n 2 "127.0.0.1:$port"
  echo "$output"; echo "$stderr"
  [ "$status" -eq 69 ]
  [ "$(field leap)" = 3 ]
  [ "$(field stratum)" = 0 ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: server is not synchronised" ]
}

@test "--follow an unsynchronised server: every answer is a record, said once, never 'no answer'" {
  port=$(free_port)
  start_ntp_serve 127.0.0.1 "$port"
  run --separate-stderr timeout 5 ntp-query -o json --follow -n 5 --minpoll -5 "127.0.0.1:$port"
  echo "$output"; echo "$stderr"
  [ "$status" -eq 69 ]
  [ "$(field leap | sort -u)" = 3 ]
  [ "$(field stratum | sort -u)" = 0 ]
  [ "$(field reach | tr '\n' ' ')" = "1 3 7 15 31 " ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: server is not synchronised" ]
}

@test "--follow an unsynchronised chronyd: records with leap 3, no kiss, no 'no answer'" {
  port=$(free_port)
  start_chronyd_unsynchronised "$port"
  run --separate-stderr timeout 5 ntp-query -o json --follow -n 3 --minpoll -5 "127.0.0.1:$port"
  echo "$output"; echo "$stderr"
  [ "$status" -eq 69 ]
  [ "$(field leap | sort -u)" = 3 ]
  [ "$(field stratum | sort -u)" = 0 ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: server is not synchronised" ]
}

@test "an unsynchronised server is never the system peer; a synchronised one gives the time" {
  port=$(free_port)
  start_ntp_serve 127.0.0.2 "$port"
  start_ntp_serve 127.0.0.3 "$port" -s 3
  run --separate-stderr ntp-query -o text -n 2 "127.0.0.2:$port" "127.0.0.3:$port"
  echo "$output"; echo "$stderr"
  [ "$status" -eq 0 ]
  grep -q "^ 127.0.0.2:$port " <<<"$output"
  grep -q "^\*127.0.0.3:$port " <<<"$output"
  [ "$stderr" = "ntp-query: 127.0.0.2:$port: server is not synchronised" ]
}
