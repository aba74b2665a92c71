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

# late_sync_server PORT N: on 127.0.0.1:PORT, answers leap 3 / stratum 0 (refid 0) to the first
# N requests, as a server that is starting up, then leap 0 / stratum 2.
late_sync_server() {
  /usr/bin/python3 - "$1" "$2" <<'PY' &
import socket, struct, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", port))
def ntp_now():
    t = time.time() + 2208988800
    return (int(t) << 32) | int((t % 1) * 2**32)
answered = 0
while True:
    data, peer = s.recvfrom(1024)
    if len(data) < 48:
        continue
    origin = struct.unpack("!Q", data[40:48])[0]
    li, stratum, refid = (3, 0, b"\0\0\0\0") if answered < n else (0, 2, b"\x7f\x7f\x01\x01")
    answered += 1
    rx = ntp_now()
    hdr = struct.pack("!BBbb", (li << 6) | (4 << 3) | 4, stratum, 0, -20)
    s.sendto(hdr + struct.pack("!II4sQQQQ", 0, 0, refid, rx, origin, rx, ntp_now()), peer)
PY
  track_pid $!
  wait_udp_bound "$1"
}

@test "--follow: a server that gets the time is said once unsynchronised, once synchronised" {
  port=$(free_port)
  late_sync_server "$port" 3
  run --separate-stderr timeout 5 ntp-query -o json --follow -n 5 --minpoll -5 "127.0.0.1:$port"
  echo "$output"; echo "$stderr"
  [ "$status" -eq 0 ]
  [ "$(field leap | tr '\n' ' ')" = "3 3 3 0 0 " ]
  [ "$(field stratum | tr '\n' ' ')" = "0 0 0 2 2 " ]
  [ "$stderr" = "ntp-query: 127.0.0.1:$port: server is not synchronised
ntp-query: 127.0.0.1:$port: server synchronised" ]
}

# --- sources that stop answering ---------------------------------------------------------------
# `timeout --foreground`: SIGTERM goes to ntp-query once (without it, timeout sends it a second
# time through the process group, which may land after ntp-query's handler is gone).

wait_until() {  # wait_until CMD...: up to 10 s for CMD to succeed
  for _ in $(seq 100); do
    "$@" && return 0
    sleep 0.1
  done
  echo "gave up waiting for: $*" >&2
  return 1
}

samples_from() {  # samples_from SOURCE FILE: how many records of SOURCE are in FILE
  grep -c "\"source\":\"$1\"" "$2" || true
}

@test "--follow says once when a source stops answering and once when it answers again" {
  port=$(free_port)
  start_ntp_serve 127.0.0.1 "$port" -s 3
  first=$SERVE_PID
  out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
  timeout --foreground 20 ntp-query -o json --follow --minpoll -4 --maxpoll -3 "127.0.0.1:$port" >"$out" 2>"$err" &
  query=$!
  track_pid "$query"
  wait_until grep -q sample "$out"
  kill "$first"
  wait_until grep -q "not answering" "$err"
  start_ntp_serve 127.0.0.1 "$port" -s 3
  wait_until grep -q "answering again" "$err"
  kill -TERM "$query"
  status=0; wait "$query" || status=$?
  echo "status $status"; cat "$err"
  [ "$status" -eq 0 ]
  [ "$(cat "$err")" = "ntp-query: 127.0.0.1:$port: not answering
ntp-query: 127.0.0.1:$port: answering again" ]
}

# --- names: a dead resolver, a name that resolves late, a pool that moves ---------------------

# A private /etc/hosts and /etc/resolv.conf for ntp-query alone (unshare -m and bind mounts).
# The hosts file is changed in place (same inode), so a running ntp-query sees every change.
setup_names() {
  HOSTS=$BATS_TEST_TMPDIR/hosts RESOLV=$BATS_TEST_TMPDIR/resolv.conf
  printf '127.0.0.1 localhost\n::1 localhost\n' > "$HOSTS"
  # A nameserver address where nothing listens: every lookup fails at once (refused).
  printf 'nameserver 127.0.%d.%d\noptions timeout:5 attempts:2\n' $((RANDOM % 200 + 20)) $((RANDOM % 200 + 20)) > "$RESOLV"
}

# start_dead_resolver: a nameserver that takes every question and never answers, as a resolver
# behind a dead link does (glibc waits timeout:5 x attempts:2 = 10 s for it).
start_dead_resolver() {
  local addr
  addr=127.0.$((RANDOM % 200 + 20)).$((RANDOM % 200 + 20))
  /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    s.recvfrom(4096)' "$addr" &
  track_pid $!
  wait_until sh -c "ss -Hnlu 'src $addr and sport = :53' | grep -q ."
  printf 'nameserver %s\noptions timeout:5 attempts:2\n' "$addr" > "$RESOLV"
}

NS_SCRIPT='mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"'

in_namespace() {  # in_namespace CMD...: CMD with the private hosts and resolv.conf
  unshare -m sh -c "$NS_SCRIPT" sh "$HOSTS" "$RESOLV" "$@"
}

# spawn_in_namespace OUT ERR CMD...: the same in the background, its PID (that of CMD, as
# unshare and sh exec) in QUERY.
spawn_in_namespace() {
  local out=$1 err=$2
  shift 2
  unshare -m sh -c "$NS_SCRIPT" sh "$HOSTS" "$RESOLV" "$@" >"$out" 2>"$err" &
  QUERY=$!
  track_pid "$QUERY"
}

@test "a dead resolver: -t 100ms -x 1s is bounded, EX_TEMPFAIL, one line" {
  setup_names
  start_dead_resolver
  run --separate-stderr in_namespace timeout 5 ntp-query -t 100ms -x 1s -o json dead.timepipe.test
  echo "$stderr"
  [ "$status" -eq 75 ]  # not 124: finished before timeout 5 killed it
  [ -z "$output" ]
  [ "$stderr" = "ntp-query: dead.timepipe.test: name resolution timed out" ]
}

@test "a dead resolver does not hold the other servers, nor --follow's loop" {
  setup_names
  start_dead_resolver
  port=$(free_port)
  start_ntp_serve 127.0.0.1 "$port" -s 3
  run --separate-stderr in_namespace timeout 5 ntp-query -t 200ms -n 1 -o json dead.timepipe.test "127.0.0.1:$port"
  echo "$stderr"
  [ "$status" -eq 0 ]
  [[ "$output" == *"\"source\":\"ntp://127.0.0.1:$port\""* ]]
  [ "$stderr" = "ntp-query: dead.timepipe.test: name resolution timed out" ]
  run --separate-stderr in_namespace timeout 5 ntp-query --follow -x 1s --minpoll -4 -o json dead.timepipe.test "127.0.0.1:$port"
  echo "$stderr"
  [ "$status" -eq 0 ]
  [[ "$output" == *"\"source\":\"ntp://127.0.0.1:$port\""* ]]
  [ "$stderr" = "ntp-query: dead.timepipe.test: name resolution timed out" ]
  run --separate-stderr in_namespace timeout 5 ntp-query --follow -x 1s -o json dead.timepipe.test
  [ "$status" -eq 75 ]
}

@test "--follow NAME that does not resolve yet is retried until it does" {
  setup_names
  port=$(free_port)
  start_ntp_serve 127.0.0.1 "$port" -s 3
  out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
  spawn_in_namespace "$out" "$err" timeout --foreground 20 ntp-query -o json --follow -n 2 --minpoll -4 --maxpoll -2 \
    "late.timepipe.test:$port"
  query=$QUERY
  wait_until grep -q "retrying" "$err"
  echo "127.0.0.1 late.timepipe.test" >> "$HOSTS"
  status=0; wait "$query" || status=$?
  echo "status $status"; cat "$err"
  [ "$status" -eq 0 ]
  [ "$(samples_from "ntp://127.0.0.1:$port" "$out")" -eq 2 ]
  [ "$(grep -c retrying "$err")" -eq 1 ]
  [ "$(tail -n 1 "$err")" = "ntp-query: late.timepipe.test:$port: resolved" ]
}

@test "--follow a pool: a source that stops answering is replaced by a new address of the name" {
  setup_names
  port=$(free_port)
  start_ntp_serve 127.0.0.2 "$port" -s 3
  old=$SERVE_PID
  start_ntp_serve 127.0.0.3 "$port" -s 3
  echo "127.0.0.2 pool.timepipe.test" >> "$HOSTS"
  out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
  spawn_in_namespace "$out" "$err" timeout --foreground 20 ntp-query -o json --follow --minpoll -4 --maxpoll -3 \
    "pool.timepipe.test:$port"
  query=$QUERY
  wait_until grep -q "ntp://127.0.0.2:$port" "$out"
  kill "$old"
  printf '127.0.0.1 localhost\n127.0.0.3 pool.timepipe.test\n' > "$HOSTS"  # the pool moved
  wait_until grep -q "ntp://127.0.0.3:$port" "$out"
  kill -TERM "$query"
  status=0; wait "$query" || status=$?
  echo "status $status"; cat "$err"
  [ "$status" -eq 0 ]
  grep -qx "ntp-query: 127.0.0.2:$port: not answering" "$err"
  grep -qx "ntp-query: 127.0.0.2:$port: replaced by 127.0.0.3:$port" "$err"
}
