#!/usr/bin/env bats
# hwts-probe(1) over a veth pair between two network namespaces this test creates (nothing
# touches the host's own interfaces): ntp-serve in one, hwts-probe -i on the veth end in the
# other, over IPv4 and IPv6 on private subnets. veth has no NIC clock: software stamps, and the
# same order and consistency as on loopback. The namespaces go in teardown.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd hwts-probe
  require_cmd ntp-serve
  require_cmd ip
  [ "$(id -u)" -eq 0 ] || { echo "network namespaces need root" >&2; return 1; }
  # Unique names (interface names: at most 15 characters).
  TAG=$$$RANDOM
  NS_C=tp-hwts-c-$TAG
  NS_S=tp-hwts-s-$TAG
  IF_C=tphc$TAG
  IF_S=tphs$TAG
  IF_C=${IF_C:0:15}
  IF_S=${IF_S:0:15}
  ip netns add "$NS_C"
  ip netns add "$NS_S"
  # Made inside the client namespace, its peer moved straight to the server's.
  ip -n "$NS_C" link add "$IF_C" type veth peer name "$IF_S" netns "$NS_S"
  ip -n "$NS_C" addr add 10.213.77.1/30 dev "$IF_C"
  ip -n "$NS_S" addr add 10.213.77.2/30 dev "$IF_S"
  ip -n "$NS_C" addr add fd54:7000:77::1/64 dev "$IF_C" nodad
  ip -n "$NS_S" addr add fd54:7000:77::2/64 dev "$IF_S" nodad
  ip -n "$NS_C" link set lo up
  ip -n "$NS_S" link set lo up
  ip -n "$NS_C" link set "$IF_C" up
  ip -n "$NS_S" link set "$IF_S" up
}

# IPv6 is not ready on a new link until each end has its link-local address and that address
# passed duplicate address detection; a request sent before is silently lost (seen here: no
# TX stamp, no reply). Waits for both, up to 10 s.
wait_ipv6_ready() {
  local i
  for i in $(seq 100); do
    if [ -n "$(ip -n "$NS_C" -6 addr show dev "$IF_C" scope link -tentative)" ] &&
       [ -n "$(ip -n "$NS_S" -6 addr show dev "$IF_S" scope link -tentative)" ] &&
       [ -z "$(ip -n "$NS_C" -6 addr show tentative)$(ip -n "$NS_S" -6 addr show tentative)" ]; then
      return 0
    fi
    sleep 0.1
  done
  echo "IPv6 not ready on the veth pair after 10 s" >&2
  return 1
}

teardown() {
  kill_tracked
  ip netns del "$NS_C" 2>/dev/null || true
  ip netns del "$NS_S" 2>/dev/null || true
}

# serve_in_ns HOST: ntp-serve on HOST:123 inside the server namespace, waited for.
serve_in_ns() {
  ip netns exec "$NS_S" "$TIMEPIPE_BUILD/bin/ntp-serve" --listen "$1:123" -s 2 2> "$BATS_TEST_TMPDIR/serve.err" &
  track_pid $!
  local i
  for i in $(seq 200); do
    ip netns exec "$NS_S" ss -Hnlu "sport = :123" | grep -q . && return 0
    sleep 0.1
  done
  cat "$BATS_TEST_TMPDIR/serve.err" >&2
  return 1
}

# in_order N < JSON lines: N probes, the first line the veth's capabilities; prints "ok".
in_order() {
  /usr/bin/python3 -c '
import json, sys
n, ifname = int(sys.argv[1]), sys.argv[2]
rows = [json.loads(l) for l in sys.stdin]
caps, probes = rows[0], rows[1:]
assert caps["type"] == "timestamp_capabilities" and caps["interface"] == ifname, caps
assert "software-transmit" in caps["capabilities"] and "software-receive" in caps["capabilities"], caps
assert len(probes) == n, "%d probes, expected %d" % (len(probes), n)
for r in probes:
    assert r["interface"] == ifname, r
    assert r["user_tx"] <= r["software_tx"] <= r["software_rx"] <= r["user_rx"], r
    assert r["tx_delay"] >= 0 and r["rx_delay"] >= 0 and r["round_trip"] >= 0, r
    assert abs(r["round_trip"] - (r["software_rx"] - r["software_tx"]) / 1e9) < 1e-9, r
    assert "hardware_tx" not in r and "hardware_rx" not in r, r
print("ok")
' "$1" "$2" 2>&1
}

@test "hwts-probe over a veth pair between two namespaces, IPv4: software stamps" {
  serve_in_ns 10.213.77.2
  run --separate-stderr ip netns exec "$NS_C" "$TIMEPIPE_BUILD/bin/hwts-probe" -i "$IF_C" -c 3 --interval 10ms -o json 10.213.77.2
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  [[ "${lines[1]}" == *'"source":"ntp://10.213.77.2:123"'* ]]
  echo "$output"
  run in_order 3 "$IF_C" <<< "$output"
  [ "$output" = ok ]
}

@test "hwts-probe over a veth pair between two namespaces, IPv6: software stamps" {
  wait_ipv6_ready
  serve_in_ns "[fd54:7000:77::2]"
  run --separate-stderr ip netns exec "$NS_C" "$TIMEPIPE_BUILD/bin/hwts-probe" -i "$IF_C" -c 3 --interval 10ms -o json "[fd54:7000:77::2]"
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  echo "$output"
  run in_order 3 "$IF_C" <<< "$output"
  [ "$output" = ok ]
}

@test "hwts-probe --hardware over veth: no NIC clock, so software stamps only" {
  serve_in_ns 10.213.77.2
  run --separate-stderr ip netns exec "$NS_C" "$TIMEPIPE_BUILD/bin/hwts-probe" -i "$IF_C" --hardware -c 2 --interval 0 -o json 10.213.77.2
  [ "$status" -eq 0 ]
  echo "$output"
  run in_order 2 "$IF_C" <<< "$output"
  [ "$output" = ok ]
}
