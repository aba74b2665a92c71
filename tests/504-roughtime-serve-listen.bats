#!/usr/bin/env bats
# Where roughtime-serve listens (shared with ntp-serve: libtime/server/listen_addresses.*):
# "[::]" alone serves IPv4 too, and with no --listen on a host without IPv6 it serves IPv4.
load common
load 500-roughtime-serve-lib
bats_require_minimum_version 1.5.0

setup() {
  PORT=$(free_port)
  KEY=$BATS_TEST_TMPDIR/key
  rt_keygen "$KEY"
}

@test "--listen [::]:PORT answers IPv4 clients over UDP and TCP" {
  roughtime-serve --key "$KEY" --listen "[::]:$PORT" --tcp on 2> "$BATS_TEST_TMPDIR/err" &
  track_pid $!
  wait_udp_bound "$PORT"
  run rt_query "$PORT" "$PUBKEY" --host 127.0.0.1
  [[ "$output" == "{"* ]] || { echo "$output"; cat "$BATS_TEST_TMPDIR/err"; return 1; }
  run rt_query "$PORT" "$PUBKEY" --host 127.0.0.1 --tcp
  [[ "$output" == "{"* ]] || { echo "$output"; return 1; }
  run rt_query "$PORT" "$PUBKEY" --host ::1
  [[ "$output" == "{"* ]]
}

@test "no IPv6 on the host: the default serves IPv4 instead of exiting 71" {
  [ "$(id -u)" -eq 0 ] || { echo "needs root for unshare -n" >&2; return 1; }
  run -0 unshare -n /bin/sh -c '
    ip link set lo up || exit 1
    "$1" roughtime-serve --key "$2" -v 2> "$3" &
    pid=$!
    for i in $(seq 50); do ss -Hnlu "sport = :2002" | grep -q . && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    ss -Hnlu "sport = :2002" | awk "{print \$4}"
    kill $pid; wait $pid; echo "exit=$?"
  ' sh "$BATS_TEST_DIRNAME/helpers/no-ipv6" "$KEY" "$BATS_TEST_TMPDIR/err"
  cat "$BATS_TEST_TMPDIR/err"
  [ "${lines[0]}" = "0.0.0.0:2002" ]
  [ "${lines[1]}" = "exit=0" ]
  grep -q '^roughtime-serve: IPv6: Address family not supported by protocol: serving IPv4 only$' "$BATS_TEST_TMPDIR/err"
}
