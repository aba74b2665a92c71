#!/usr/bin/env bats
# Privileges: --user drops root and every capability once the sockets are bound; an
# unprivileged bind of a port below 1024 says which capability is missing.
load common
bats_require_minimum_version 1.5.0

ask() {
  /usr/bin/python3 - "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(bytes([0x23]) + bytes(47), (sys.argv[1], int(sys.argv[2])))
try:
    d = s.recv(4096); print("mode=%d stratum=%d" % (d[0] & 7, d[1]))
except socket.timeout:
    print("no answer")
PY
}

status_field() { grep "^$2:" "/proc/$1/status" | cut -f2-; }  # status_field PID FIELD: tab-separated values

@test "--user nobody as root: binds port 123, then runs as nobody with no capability" {
  [ "$(id -u)" -eq 0 ] || { echo "needs root" >&2; return 1; }
  local uid gid addr
  uid=$(id -u nobody); gid=$(id -g nobody)
  # Port 123 on a loopback address of our own: binding it needs root (or the capability).
  addr="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
  ntp-serve --listen "$addr:123" --stratum 3 --user nobody -v 2> "$BATS_TEST_TMPDIR/err" &
  local pid=$!
  track_pid $pid
  for _ in $(seq 50); do grep -q 'running as nobody' "$BATS_TEST_TMPDIR/err" && break; kill -0 $pid || break; sleep 0.1; done
  cat "$BATS_TEST_TMPDIR/err"
  [ "$(status_field $pid Uid)" = "$(printf '%s\t%s\t%s\t%s' $uid $uid $uid $uid)" ]
  [ "$(status_field $pid Gid)" = "$(printf '%s\t%s\t%s\t%s' $gid $gid $gid $gid)" ]
  [ "$(status_field $pid Groups | tr -d " ")" = "$gid" ]  # the kernel pads it
  [ "$(status_field $pid CapEff)" = "0000000000000000" ]
  [ "$(status_field $pid CapPrm)" = "0000000000000000" ]
  [ "$(status_field $pid CapAmb)" = "0000000000000000" ]
  [ "$(status_field $pid NoNewPrivs)" = "1" ]
  # Every thread too (the workers start after the drop).
  local t
  for t in /proc/$pid/task/*; do
    [ "$(awk '$1 == "CapEff:" { print $2 }' "$t/status")" = "0000000000000000" ]
  done
  run ask "$addr" 123
  [ "$output" = "mode=4 stratum=3" ]
}

@test "--user unknown: one line, EX_NOUSER, before binding anything" {
  run -67 ntp-serve --listen 127.0.0.1:0 --stratum 3 --user no-such-user-timepipe
  [ "$output" = "ntp-serve: --user: no-such-user-timepipe: no such user" ]
}

@test "unprivileged bind of a port below 1024: the error names CAP_NET_BIND_SERVICE" {
  [ "$(id -u)" -eq 0 ] || { echo "needs root for setpriv" >&2; return 1; }
  local start; start=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
  [ "$start" -gt 1 ] || { echo "ip_unprivileged_port_start is $start: every port is unprivileged" >&2; return 1; }
  local low=$(( start > 123 ? 123 : start - 1 ))
  local addr="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
  run -77 setpriv --reuid nobody --regid nogroup --clear-groups --inh-caps=-all --bounding-set=-all \
    "$TIMEPIPE_BUILD/bin/ntp-serve" --listen "$addr:$low" --stratum 3
  [ "$output" = "ntp-serve: $addr:$low: bind: Permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)" ]
}
