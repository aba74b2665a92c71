#!/usr/bin/env bats
# ntp-serve -w N: each client reaches one worker by its address alone, so a client that takes a
# new source port for every request (as chronyd does) keeps its interleave and rate-limit state.
load common
bats_require_minimum_version 1.5.0

# hopping_client MODE PORT COUNT: COUNT requests to 127.0.0.1:PORT, each from a new socket
# (a new source port).
#   interleave: one at a time, each after the first asking in interleaved mode (RFC 9769: origin
#     = the previous response's receive timestamp); prints "interleaved=I of N".
#   burst: all sent at once, then every reply read; prints "answered=A kod=K".
hopping_client() {
  /usr/bin/python3 - "$@" <<'PY'
import select, socket, struct, sys
mode, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def request(origin, receive, transmit):
    return bytes([0x23, 0, 6, 0xec]) + bytes(20) + struct.pack("!QQQ", origin, receive, transmit)
def fields(d):
    return d[1], struct.unpack("!QQQ", d[24:48])  # stratum, (origin, receive, transmit)
if mode == "interleave":
    prev_rx, interleaved, answered = 0, 0, 0
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
        my_receive, my_transmit = 0x5000 + i, 0x9000 + i
        s.sendto(request(prev_rx, my_receive if prev_rx else 0, my_transmit), ("127.0.0.1", port))
        stratum, (origin, receive, transmit) = fields(s.recv(4096))
        answered += 1
        if i > 0 and origin == my_receive: interleaved += 1
        elif origin != my_transmit: sys.exit("reply %d: origin %x is neither" % (i, origin))
        prev_rx = receive
        s.close()
    print("interleaved=%d of %d" % (interleaved, answered - 1))
else:
    socks = []
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setblocking(False)
        s.sendto(request(0, 0, 0x7000 + i), ("127.0.0.1", port))
        socks.append(s)
    answered = kod = 0
    pending = set(socks)
    while pending:  # every reply that comes; a second of silence ends it
        ready, _, _ = select.select(list(pending), [], [], 1.0)
        if not ready: break
        for s in ready:
            stratum, _ = fields(s.recv(4096))
            if stratum == 0: kod += 1
            else: answered += 1
            pending.discard(s)
    print("answered=%d kod=%d" % (answered, kod))
PY
}

start_serve() {
  ntp-serve "$@" 2> "$BATS_TEST_TMPDIR/err" &
  SERVE_PID=$!
  track_pid $SERVE_PID
}

counters() {  # the counters line SIGUSR1 writes
  local before
  before=$(grep -c 'counters:' "$BATS_TEST_TMPDIR/err" || true)
  kill -USR1 "$SERVE_PID"
  for _ in $(seq 30); do
    [ "$(grep -c 'counters:' "$BATS_TEST_TMPDIR/err" || true)" -gt "$before" ] && break
    sleep 0.1
  done
  grep 'counters:' "$BATS_TEST_TMPDIR/err" | tail -1
}

@test "4 workers: a client changing port every request is answered interleaved every time" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2 --workers 4
  wait_udp_bound "$p"
  run -0 hopping_client interleave "$p" 41
  [ "$output" = "interleaved=40 of 40" ]
  [[ "$(counters)" == *" answered=41 interleaved=40 "* ]]
}

@test "4 workers: a client changing port every request gets one burst, not one per worker" {
  local p; p=$(free_port)
  start_serve --listen "127.0.0.1:$p" --stratum 2 --workers 4 --rate-limit 0.01/8
  wait_udp_bound "$p"
  run -0 hopping_client burst "$p" 32
  # 8 answers, then the first limited request gets a KoD RATE and 1 in 8 of the rest: 3 KoDs.
  [ "$output" = "answered=8 kod=3" ]
}

@test "4 workers on a dual-stack [::]: its IPv4 clients are steered too" {
  local p; p=$(free_port)
  start_serve --listen "[::]:$p" --stratum 2 --workers 4
  wait_udp_bound "$p"
  run -0 hopping_client interleave "$p" 21
  [ "$output" = "interleaved=20 of 20" ]
}
