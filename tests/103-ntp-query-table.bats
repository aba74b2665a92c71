#!/usr/bin/env bats
# ntp-query -o text: the table fits 79 columns, offsets and delays in chronyc's units, the
# +/- column is the root distance, and what a server says is never written raw. Servers are a
# few lines of Python answering on loopback with chosen fields.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd ntp-query
}

# fake_server PORT STRATUM REFID_HEX SHIFT_S ROOT_DELAY_S ROOT_DISP_S: answers every request
# on 127.0.0.1:PORT, its clock SHIFT_S seconds ahead of this host's.
fake_server() {
  /usr/bin/python3 - "$@" <<'PY' &
import socket, struct, sys, time
port, stratum, refid, shift = int(sys.argv[1]), int(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4])
root_delay, root_disp = (int(float(x) * 65536) for x in sys.argv[5:7])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", port))
def ntp_now():
    t = time.time() + 2208988800 + shift
    return (int(t) << 32) | int((t % 1) * 2**32)
while True:
    data, peer = s.recvfrom(1024)
    if len(data) < 48:
        continue
    origin = struct.unpack("!Q", data[40:48])[0]
    rx = ntp_now()
    hdr = struct.pack("!BBbb", (0 << 6) | (4 << 3) | 4, stratum, 0, -20)
    s.sendto(hdr + struct.pack("!II4sQQQQ", root_delay, root_disp, refid, rx, origin, rx, ntp_now()), peer)
PY
  track_pid $!
  wait_udp_bound "$1"
}

@test "ntp-query -o text: 79 columns, chronyc's units, +/- the root distance" {
  port=$(free_port)
  fake_server "$port" 2 c0000207 0 0.5 0.25   # refid 192.0.2.7
  run --separate-stderr ntp-query -o text -n 2 "127.0.0.1:$port"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 3 ]
  [ "${lines[0]}" = "     remote          refid      st when poll reach  delay  offset    +/- jitter" ]
  [ "${lines[1]}" = "$(printf '=%.0s' $(seq 79))" ]
  [ "${#lines[2]}" -eq 79 ]
  read -r remote refid st when poll reach delay offset error jitter <<< "${lines[2]}"
  [ "$remote" = "127.0.0.1:$port" ] && [ "$refid" = 192.0.2.7 ] && [ "$st" = 2 ] && [ "$reach" = 3 ]
  # loopback: microseconds (or nanoseconds), never "0.000" or "-0"
  [[ "$delay" =~ ^[0-9]+(ns|us)$ ]]
  [[ "$offset" =~ ^([+-][1-9][0-9]*(ns|us)|0ns)$ ]]
  # (delay + 0.5 s) / 2 + dispersion + 0.25 s: half a second and a little
  [[ "$error" =~ ^50[0-9]ms$ ]]
  [[ "$jitter" =~ ^([0-9]+(ns|us)|-)$ ]]
}

@test "ntp-query -o text: a server 10 s ahead reads +10.0s, one a year behind -365d" {
  p1=$(free_port); fake_server "$p1" 1 47505300 10 0 0             # .GPS.
  p2=$(free_port); fake_server "$p2" 2 c0000207 -31557600 0 0
  run --separate-stderr ntp-query -o text -n 1 "127.0.0.1:$p1" "127.0.0.1:$p2"
  echo "$output"
  [ "$status" -eq 0 ]
  row1=$(grep "127.0.0.1:$p1 " <<<"$output")
  row2=$(grep "127.0.0.1:$p2 " <<<"$output")
  read -r remote refid st when poll reach delay offset error jitter <<< "${row1:1}"
  [ "$refid" = .GPS. ] && [ "$offset" = +10.0s ]
  read -r remote refid st when poll reach delay offset error jitter <<< "${row2:1}"
  [ "$offset" = -365d ]
  [ "${#row1}" -eq 79 ] && [ "${#row2}" -eq 79 ]
}

@test "ntp-query -o text: a stratum 1 refid of control characters is never written raw" {
  port=$(free_port)
  fake_server "$port" 1 1b5b324a 0 0 0   # ESC [ 2 J: clear the screen
  ntp-query -o text -n 1 "127.0.0.1:$port" > "$BATS_TEST_TMPDIR/out"
  cat "$BATS_TEST_TMPDIR/out"
  ! LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$BATS_TEST_TMPDIR/out"
  # not printable: shown as an address, as ntpq does
  grep -q "^ 127.0.0.1:$port 27.91.50.74 " "$BATS_TEST_TMPDIR/out"
}
