#!/usr/bin/env bats
# ntp-serve against real clients on loopback: ntpsec's ntpdig, chronyd (-x, never touching the
# clock) in basic and interleaved mode, and raw-socket clients for KoD RATE/DENY and RFC 9769.
load common
bats_require_minimum_version 1.5.0

start_serve() {
  ntp-serve "$@" 2> "$BATS_TEST_TMPDIR/err" &
  SERVE_PID=$!
  track_pid $SERVE_PID
}

@test "ntpdig: stratum and a sane offset (within 1 ms)" {
  require_cmd ntpdig
  # ntpdig only speaks to port 123: a loopback address of our own, 127.X.Y.Z:123.
  local addr="127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))"
  start_serve --listen "$addr:123" --stratum 4
  wait_udp_bound 123
  for _ in $(seq 20); do ss -Hnlu "src $addr" | grep -q . && break; sleep 0.1; done
  run ntpdig -j -p 3 -t 2 "$addr"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"stratum":4'* ]]
  [[ "$output" == *'"leap":"no-leap"'* ]]
  /usr/bin/python3 -c '
import json, sys
offsets = [abs(json.loads(l)["offset"]) for l in sys.argv[1].splitlines() if l.startswith("{")]
print(offsets)
sys.exit(0 if offsets and min(offsets) < 0.001 else 1)' "$output"
}

@test "chronyd selects ntp-serve with an offset within 1 ms" {
  require_cmd chronyd
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2
  wait_udp_bound "$p"
  start_chronyd_client 127.0.0.1 "$p"
  # chronyc cannot be used here: start_chronyd_client makes its directory 0755 and chronyd
  # then disables the command socket ("Wrong permissions"). Its log and measurements.log
  # say the same: the source is selected, and every offset it measured.
  for _ in $(seq 100); do
    grep -q "Selected source 127.0.0.1" "$CHRONY_DIR/log" && [ "$(grep -c " 127.0.0.1 " "$CHRONY_DIR/measurements.log" 2>/dev/null)" -ge 4 ] && break
    sleep 0.2
  done
  cat "$CHRONY_DIR/log" "$CHRONY_DIR/measurements.log"
  grep -q "Selected source 127.0.0.1" "$CHRONY_DIR/log"
  # date time address leap stratum ... offset (column 12); stratum 2, every measurement valid
  # (tests 1111) and within 1 ms.
  awk '$3 == "127.0.0.1" { n++; if ($5 != 2 || $8 != "1111" || $12 > 0.001 || $12 < -0.001) bad++ }
       END { exit !(n >= 4 && bad == 0) }' "$CHRONY_DIR/measurements.log"
}

@test "a flooding client gets its burst, then KoD RATE for some requests and silence (--rate-limit 4/8)" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2 --rate-limit 4/8
  wait_udp_bound "$p"
  run /usr/bin/python3 - "$p" <<'PY'
import socket, struct, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.3)
for i in range(200):
    s.sendto(bytes([0x23, 0, 0, 0]) + bytes(36) + struct.pack("!Q", i + 1), ("127.0.0.1", port))
normal = rate = 0
try:
    while True:
        d = s.recv(100)
        if d[1] == 0 and d[12:16] == b"RATE":
            rate += 1
            assert d[0] >> 6 == 3 and len(d) == 48
        elif d[1] == 2:
            normal += 1
except socket.timeout:
    pass
print("normal=%d rate=%d" % (normal, rate))
PY
  echo "$output"
  [ "$status" -eq 0 ]
  read -r normal rate <<<"${output//[a-z=]/ }"
  [ "$normal" -ge 8 ] && [ "$normal" -le 12 ]   # the burst, plus what 4/s refills meanwhile
  [ "$rate" -ge 1 ] && [ "$rate" -lt 100 ]       # KoD for some, silence for most
  kill -USR1 "$SERVE_PID"
  for _ in $(seq 20); do grep -q counters "$BATS_TEST_TMPDIR/err" && break; sleep 0.1; done
  grep -q "kod_rate=$rate " "$BATS_TEST_TMPDIR/err"
}

# kod_probe PORT: "DENY", "answer", or "silence"
kod_probe() {
  /usr/bin/python3 - "$1" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
s.sendto(bytes([0x23, 0, 6, 0]) + bytes(36) + struct.pack("!Q", 42), ("127.0.0.1", int(sys.argv[1])))
try:
    d = s.recv(100)
except socket.timeout:
    print("silence"); sys.exit(0)
print(d[12:16].decode() if d[1] == 0 else "answer")
PY
}

@test "--deny 127.0.0.1/32: KoD DENY with --deny-kod on, silence with off" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2 --deny 127.0.0.1/32 --deny-kod on
  wait_udp_bound "$p"
  run kod_probe "$p"
  [ "$output" = "DENY" ]
  kill "$SERVE_PID"
  p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2 --deny 127.0.0.1/32 --deny-kod off
  wait_udp_bound "$p"
  run kod_probe "$p"
  [ "$output" = "silence" ]
  p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2 --deny all --allow 127.0.0.0/8
  wait_udp_bound "$p"
  run kod_probe "$p"
  [ "$output" = "answer" ]
}

@test "interleaved (RFC 9769) by hand: the second response carries the first one's kernel TX time" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2 --interleaved on
  wait_udp_bound "$p"
  run /usr/bin/python3 - "$p" <<'PY'
import os, socket, struct, sys, time
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
def ask(origin, receive, transmit):
    s.sendto(bytes([0x23, 0, 0, 0]) + bytes(20) + struct.pack("!QQQ", origin, receive, transmit), ("127.0.0.1", port))
    d = s.recv(100)
    return struct.unpack("!QQQ", d[24:48])
# 1: basic
org1, rx1, tx1 = ask(0, 0, 0x1111)
assert org1 == 0x1111, "basic origin"
time.sleep(0.05)
# 2: interleaved: origin = receive timestamp of response 1, receive = a cookie
cookie = int.from_bytes(os.urandom(8), "big")
org2, rx2, tx2 = ask(rx1, cookie, 0x2222)
assert org2 == cookie, "interleaved origin must echo our receive field"
assert rx2 > rx1, "receive timestamp of this request"
# tx2 is when response 1 left: after rx1, and before response 2's request arrived
assert rx1 < tx2 < rx2, (rx1, tx2, rx2)
assert tx2 != tx1, "the kernel time, not the estimate sent in response 1"
# 3: a wrong origin falls back to basic
org3, rx3, tx3 = ask(12345, cookie, 0x3333)
assert org3 == 0x3333, "basic again"
print("ok", (tx2 - rx1) / 2**32, (tx1 - tx2) / 2**32)
PY
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == ok* ]]
  kill -USR1 "$SERVE_PID"
  for _ in $(seq 20); do grep -q counters "$BATS_TEST_TMPDIR/err" && break; sleep 0.1; done
  grep -q " interleaved=1 " "$BATS_TEST_TMPDIR/err"
  grep -q " tx_timestamps=[1-9]" "$BATS_TEST_TMPDIR/err"
}

@test "--interleaved off: an interleaved request gets a basic response" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2 --interleaved off
  wait_udp_bound "$p"
  run /usr/bin/python3 - "$p" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
def ask(origin, receive, transmit):
    s.sendto(bytes([0x23, 0, 0, 0]) + bytes(20) + struct.pack("!QQQ", origin, receive, transmit), ("127.0.0.1", int(sys.argv[1])))
    return struct.unpack("!QQQ", s.recv(100)[24:48])
_, rx1, _ = ask(0, 0, 0x1111)
org2, _, _ = ask(rx1, 0x5555, 0x2222)
print("basic" if org2 == 0x2222 else "interleaved")
PY
  [ "$output" = "basic" ]
}

@test "chronyd with xleave uses interleaved mode against ntp-serve --interleaved on" {
  require_cmd chronyd
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2 --interleaved on
  wait_udp_bound "$p"
  start_chronyd_client 127.0.0.1 "$p" xleave
  local out=""
  for _ in $(seq 60); do
    out=$(chronyc_client ntpdata 127.0.0.1 2>/dev/null || true)
    grep -q "^Interleaved *: Yes" <<<"$out" && break
    sleep 0.25
  done
  echo "$out"
  grep -q "^Interleaved *: Yes" <<<"$out"
  # measurements.log marks interleaved measurements with mode "4I"
  grep -q " 127.0.0.1 .* 4I " "$CHRONY_DIR/measurements.log"
  kill -USR1 "$SERVE_PID"
  for _ in $(seq 20); do grep -q counters "$BATS_TEST_TMPDIR/err" && break; sleep 0.1; done
  ! grep -q " interleaved=0 " "$BATS_TEST_TMPDIR/err"
}

# chronyd sends every request from a new source port: with several workers each request must
# still reach the worker holding its interleave state (ntp-serve steers by address alone).
@test "chronyd with xleave against ntp-serve --workers 4: interleaved after its first exchanges" {
  require_cmd chronyd
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2 --interleaved on --workers 4
  wait_udp_bound "$p"
  start_chronyd_client 127.0.0.1 "$p" xleave
  local log=$CHRONY_DIR/measurements.log total=0
  for _ in $(seq 120); do
    total=$(grep -c " 127.0.0.1 " "$log" 2>/dev/null || true)
    [ "${total:-0}" -ge 24 ] && break
    sleep 0.25
  done
  [ "$total" -ge 24 ] || { echo "only $total measurements"; return 1; }
  local interleaved
  interleaved=$(grep " 127.0.0.1 " "$log" | head -24 | grep -c " 4I " || true)
  echo "interleaved $interleaved of 24"
  # The first one or two are basic (chronyd starts so); every later one interleaved.
  [ "$interleaved" -ge 22 ]
}

@test "--workers 4: every request is answered, IPv4 and IPv6" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --listen "[::1]:$p" --stratum 2 --workers 4
  wait_udp_bound "$p"
  run /usr/bin/python3 - "$p" <<'PY'
import socket, struct, sys
port = int(sys.argv[1]); got = 0
for host, fam in (("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)):
    for i in range(50):   # a new socket (source port) each time: the kernel spreads them out
        s = socket.socket(fam, socket.SOCK_DGRAM); s.settimeout(1)
        s.sendto(bytes([0x23]) + bytes(39) + struct.pack("!Q", i + 1), (host, port))
        d = s.recv(100)
        got += d[1] == 2 and struct.unpack("!Q", d[24:32])[0] == i + 1
        s.close()
print(got)
PY
  [ "$output" = "100" ]
}
