#!/usr/bin/env bats
# Where ntp-serve listens: "[::]" alone serves IPv4 clients too, and with no --listen on a host
# without IPv6 it serves IPv4 rather than failing (a network namespace the test makes, with
# IPv6 sockets refused as on a kernel booted with ipv6.disable=1: tests/helpers/no-ipv6).
load common
bats_require_minimum_version 1.5.0

NO_IPV6=$BATS_TEST_DIRNAME/helpers/no-ipv6

# ask HOST PORT: one request; prints "mode=M stratum=N from=ADDRESS" or "no answer".
ask() {
  /usr/bin/python3 - "$@" <<'PY'
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.sendto(bytes([0x23, 0, 6, 0xec]) + bytes(36) + struct.pack("!Q", 42), (host, port))
try:
    d, src = s.recvfrom(4096)
except socket.timeout:
    print("no answer"); sys.exit(0)
print("mode=%d stratum=%d from=%s" % (d[0] & 7, d[1], src[0]))
PY
}

@test "--listen [::]:PORT answers IPv4 clients as well as IPv6 ones" {
  local p; p=$(free_port)
  ntp-serve --listen "[::]:$p" --stratum 4 2> "$BATS_TEST_TMPDIR/err" &
  track_pid $!
  wait_udp_bound "$p"
  run ask 127.0.0.1 "$p"
  [ "$output" = "mode=4 stratum=4 from=127.0.0.1" ] || { echo "$output"; cat "$BATS_TEST_TMPDIR/err"; return 1; }
  run ask ::1 "$p"
  [ "$output" = "mode=4 stratum=4 from=::1" ]
}

@test "--listen [::]:PORT beside 0.0.0.0:PORT: both bind, both families answered" {
  local p; p=$(free_port)
  ntp-serve --listen "[::]:$p" --listen "0.0.0.0:$p" --stratum 4 2> "$BATS_TEST_TMPDIR/err" &
  track_pid $!
  wait_udp_bound "$p"
  run ask 127.0.0.1 "$p"
  [ "$output" = "mode=4 stratum=4 from=127.0.0.1" ] || { cat "$BATS_TEST_TMPDIR/err"; return 1; }
  run ask ::1 "$p"
  [ "$output" = "mode=4 stratum=4 from=::1" ]
}

# In a namespace of its own (so the default port 123 is free), with IPv6 sockets refused:
# the default listen addresses fall back to IPv4, with one line saying so.
@test "no IPv6 on the host: the default serves IPv4 on port 123 instead of exiting 71" {
  [ "$(id -u)" -eq 0 ] || { echo "needs root for unshare -n" >&2; return 1; }
  run -0 unshare -n /bin/sh -c '
    ip link set lo up || exit 1
    "$1" ntp-serve --stratum 3 -v 2> "$2" &
    pid=$!
    for i in $(seq 50); do ss -Hnlu "sport = :123" | grep -q . && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    "$3" 127.0.0.1 123
    kill $pid; wait $pid; echo "exit=$?"
  ' sh "$NO_IPV6" "$BATS_TEST_TMPDIR/err" "$BATS_TEST_TMPDIR/ask"
  cat "$BATS_TEST_TMPDIR/err"
  [ "${lines[0]}" = "mode=4 stratum=3 from=127.0.0.1" ]
  [ "${lines[1]}" = "exit=0" ]
  grep -q '^ntp-serve: IPv6: Address family not supported by protocol: serving IPv4 only$' "$BATS_TEST_TMPDIR/err"
}

setup() {
  # The namespace test runs the client from a file: a function does not cross unshare.
  { echo '#!/bin/bash'; declare -f ask; echo 'ask "$@"'; } > "$BATS_TEST_TMPDIR/ask"
  chmod +x "$BATS_TEST_TMPDIR/ask"
}
