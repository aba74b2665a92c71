#!/usr/bin/env bats
# hwts-probe(1) on loopback against an ntp-serve this test starts, on 127.0.0.1 and ::1: the
# software TX and RX stamps come back, in the order user send <= kernel TX <= kernel RX <= user
# receive, and the differences are those of the stamps; -i lo matches what the kernel says
# through two other readers (ethtool -T, from the peer cache, and a Python SIOCETHTOOL ioctl).
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd hwts-probe
  require_cmd ntp-serve
  require_cmd timecat
}

start_serve() {  # start_serve HOST PORT (HOST as in host:port, "[::1]" for IPv6)
  ntp-serve --listen "$1:$2" -s 2 2> "$BATS_TEST_TMPDIR/serve.err" &
  track_pid $!
  wait_udp_bound "$2"
}

# check_probes N < JSON lines: N answered probes with software stamps in order; prints "ok".
check_probes() {
  /usr/bin/python3 -c '
import json, sys
n = int(sys.argv[1])
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == n, "%d records, expected %d" % (len(rows), n)
for i, r in enumerate(rows):
    assert r["type"] == "timestamp_probe" and r["v"] == 1 and r["seq"] == i, r
    for k in ("user_tx", "software_tx", "software_rx", "user_rx"):
        assert k in r, "%s missing in %s" % (k, r)
    assert r["time"] == r["user_tx"], r
    # user send <= kernel TX <= kernel RX <= user receive, all CLOCK_REALTIME
    assert r["user_tx"] <= r["software_tx"] <= r["software_rx"] <= r["user_rx"], r
    for key, later, earlier in (("tx_delay", "software_tx", "user_tx"), ("rx_delay", "user_rx", "software_rx"),
                                ("round_trip", "software_rx", "software_tx")):
        assert r[key] >= 0, r
        assert abs(r[key] - (r[later] - r[earlier]) / 1e9) < 1e-9, (key, r)
    # lo has no NIC clock: no hardware stamps, and no difference made up for them
    for k in ("hardware_tx", "hardware_rx", "tx_hw_minus_sw", "rx_hw_minus_sw"):
        assert k not in r, r
print("ok")
' "$1"
}

@test "hwts-probe on 127.0.0.1: software TX and RX stamps, in order, differences consistent" {
  local p; p=$(free_port)
  start_serve 127.0.0.1 "$p"
  run --separate-stderr hwts-probe -c 3 --interval 10ms -o json "127.0.0.1:$p"
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  [[ "${lines[0]}" == *'"source":"ntp://127.0.0.1:'"$p"'"'* ]]
  run check_probes 3 <<< "$output"
  [ "$output" = ok ]
}

@test "hwts-probe on ::1: the same over IPv6" {
  local p; p=$(free_port)
  start_serve "[::1]" "$p"
  run --separate-stderr hwts-probe -c 3 --interval 10ms -o json "[::1]:$p"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == *'"source":"ntp://[::1]:'"$p"'"'* ]]
  run check_probes 3 <<< "$output"
  [ "$output" = ok ]
}

@test "hwts-probe --hardware on lo: the socket takes the flags, only software stamps come" {
  local p; p=$(free_port)
  start_serve 127.0.0.1 "$p"
  run --separate-stderr hwts-probe --hardware -c 2 --interval 0 -o json "127.0.0.1:$p"
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  run check_probes 2 <<< "$output"
  [ "$output" = ok ]
}

@test "hwts-probe: CBOR by default into a pipe, read back by timecat; text table on request" {
  local p; p=$(free_port)
  start_serve 127.0.0.1 "$p"
  hwts-probe -i lo -c 2 --interval 0 "127.0.0.1:$p" > "$BATS_TEST_TMPDIR/out.cbor"
  run --separate-stderr timecat -i cbor -o json "$BATS_TEST_TMPDIR/out.cbor"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 3 ]
  [[ "${lines[0]}" == '{"v":1,"type":"timestamp_capabilities","source":"if://lo",'* ]]
  run check_probes 2 <<< "$(printf '%s\n' "${lines[@]:1}")"
  [ "$output" = ok ]

  run --separate-stderr hwts-probe -o text -c 2 --interval 0 "127.0.0.1:$p"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "SEQ  STAMPS "*"TX_DELAY"*"RX_DELAY"*"ROUND_TRIP"*"TX_HW-SW"*"RX_HW-SW" ]]
  [[ "${lines[1]}" =~ ^0\ +swtx,swrx\ +[0-9.]+us\ +[0-9.]+us\ +[0-9.]+us\ +-\ +-$ ]]
  [[ "${lines[2]}" =~ ^1\ +swtx,swrx\ + ]]
}

# The kernel's ETHTOOL_GET_TS_INFO for lo read by Python (fcntl.ioctl, its own name tables from
# include/uapi/linux/net_tstamp.h), printed as hwts-probe -o json prints it.
python_ts_info() {
  /usr/bin/python3 - "$1" <<'PY'
import array, fcntl, json, socket, struct, sys
SOF = ["hardware-transmit", "software-transmit", "hardware-receive", "software-receive",
       "software-system-clock", "hardware-legacy-clock", "hardware-raw-clock", "option-id",
       "sched-transmit", "ack-transmit", "option-cmsg", "option-tsonly", "option-stats",
       "option-pktinfo", "option-tx-swhw", "bind-phc", "option-id-tcp", "option-rx-filter"]
TX = ["off", "on", "onestep-sync", "onestep-p2p"]
RX = ["none", "all", "some", "ptpv1-l4-event", "ptpv1-l4-sync", "ptpv1-l4-delay-req",
      "ptpv2-l4-event", "ptpv2-l4-sync", "ptpv2-l4-delay-req", "ptpv2-l2-event", "ptpv2-l2-sync",
      "ptpv2-l2-delay-req", "ptpv2-event", "ptpv2-sync", "ptpv2-delay-req", "ntp-all"]
def names(bits, table):
    return [table[i] if i < len(table) else "bit-%d" % i for i in range(32) if bits >> i & 1]
buf = array.array("B", struct.pack("=I", 0x41) + bytes(40))   # ETHTOOL_GET_TS_INFO
ifr = struct.pack("16sP", sys.argv[1].encode(), buf.buffer_info()[0]).ljust(40, b"\0")
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
fcntl.ioctl(s.fileno(), 0x8946, ifr)                            # SIOCETHTOOL
cmd, sof, phc, tx = struct.unpack_from("=IIiI", buf, 0)
rx, = struct.unpack_from("=I", buf, 28)
out = {"interface": sys.argv[1], "capabilities": names(sof, SOF), "phc_index": phc,
       "tx_types": names(tx, TX), "rx_filters": names(rx, RX)}
cfg = array.array("B", bytes(12))                               # struct hwtstamp_config
ifr = struct.pack("16sP", sys.argv[1].encode(), cfg.buffer_info()[0]).ljust(40, b"\0")
try:
    fcntl.ioctl(s.fileno(), 0x89b1, ifr)                        # SIOCGHWTSTAMP
    flags, txt, rxf = struct.unpack("=iii", cfg)
    out["enabled_tx_type"] = TX[txt] if txt < len(TX) else str(txt)
    out["enabled_rx_filter"] = RX[rxf] if rxf < len(RX) else str(rxf)
except OSError as e:
    import errno
    assert e.errno in (errno.EOPNOTSUPP, errno.EINVAL), e           # no hardware stamps to enable
print(json.dumps(out, separators=(",", ":")))
PY
}

@test "hwts-probe -i lo: capabilities as the kernel reports them to a second reader" {
  run --separate-stderr hwts-probe -i lo -o json
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  mine=$(/usr/bin/python3 -c '
import json, sys
r = json.loads(sys.argv[1])
del r["v"], r["type"], r["source"], r["time"]
print(json.dumps(r, separators=(",", ":")))' "$output")
  theirs=$(python_ts_info lo)
  echo "hwts-probe: $mine"
  echo "python:     $theirs"
  [ "$mine" = "$theirs" ]
  [[ "$mine" == *'"software-transmit"'*'"software-receive"'* ]]
  [[ "$mine" == *'"phc_index":-1'* ]]
}

@test "hwts-probe -i lo: capabilities as ethtool -T lo prints them" {
  require_cmd ethtool   # a test peer: scripts/fetch-peers unpacks Debian's into the cache
  run --separate-stderr hwts-probe -i lo -o text
  [ "$status" -eq 0 ]
  # Both as "capabilities | PHC | tx types | rx filters", names space-separated, "-" for none.
  mine=$(awk '/^  capabilities / {c = substr($0, 17)} /^  PHC / {p = $2} /^  tx types / {t = substr($0, 17)}
              /^  rx filters / {r = substr($0, 17)} END {sub("/dev/ptp", "", p); print c " | " p " | " t " | " r}' <<< "$output")
  theirs=$(ethtool -T lo | awk '
    /^Capabilities:/ {s = "c"; next}
    /^PTP Hardware Clock:/ {p = $4; s = ""; next}
    /^Hardware Transmit Timestamp Modes:/ {s = "t"; if ($5 == "none") t = "-"; next}
    /^Hardware Receive Filter Modes:/ {s = "r"; if ($5 == "none") r = "-"; next}
    /^[^ \t]/ {s = ""; next}
    s == "c" && NF {c = c (c == "" ? "" : " ") $1}
    s == "t" && NF {t = t (t == "" ? "" : " ") $1}
    s == "r" && NF {r = r (r == "" ? "" : " ") $1}
    END {print (c == "" ? "-" : c) " | " p " | " (t == "" ? "-" : t) " | " (r == "" ? "-" : r)}')
  echo "hwts-probe: $mine"
  echo "ethtool:    $theirs"
  [ "$mine" = "$theirs" ]
  [ "$mine" = "software-transmit software-receive software-system-clock | none | - | -" ]
}

@test "hwts-probe: SIGTERM during a long --interval ends it at once, status 0, the probes made written" {
  local p; p=$(free_port)
  start_serve 127.0.0.1 "$p"
  hwts-probe -c 3 --interval 1h -o json "127.0.0.1:$p" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" &
  local pid=$!
  track_pid $pid
  local i
  for i in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/out" ] && break; sleep 0.1; done
  [ -s "$BATS_TEST_TMPDIR/out" ]
  kill -TERM "$pid"
  timeout 20 tail --pid="$pid" -f /dev/null   # a hang guard, not a timing assertion
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ]
  [ ! -s "$BATS_TEST_TMPDIR/err" ]
  run check_probes 1 < "$BATS_TEST_TMPDIR/out"
  [ "$output" = ok ]
}
