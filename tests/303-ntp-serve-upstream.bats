#!/usr/bin/env bats
# ntp-serve --upstream: a hand-made sample stream (timecat -i json → CBOR) on stdin decides
# stratum, refid, root delay/dispersion and leap; stale or ended streams mean leap 3.
load common
bats_require_minimum_version 1.5.0

# ntp_fields PORT: "leap stratum refid root_delay root_dispersion offset_ms" of one answer.
ntp_fields() {
  /usr/bin/python3 - "$1" <<'PY'
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5)
s.sendto(bytes([0x23, 0, 6, 0xec]) + bytes(44), ("127.0.0.1", int(sys.argv[1])))
t1 = time.time()
try:
    d = s.recv(100)
except socket.timeout:
    print("no answer"); sys.exit(0)
t4 = time.time()
rx = struct.unpack("!Q", d[32:40])[0] / 2**32 - 2208988800
tx = struct.unpack("!Q", d[40:48])[0] / 2**32 - 2208988800
offset = ((rx - t1) + (tx - t4)) / 2
print(d[0] >> 6, d[1], ".".join(str(x) for x in d[12:16]),
      "%.4f" % (struct.unpack("!I", d[4:8])[0] / 65536), "%.4f" % (struct.unpack("!I", d[8:12])[0] / 65536),
      "%.0f" % (offset * 1000))
PY
}

# sample_json [OFFSET] [LEAP]: a sample record taken now, from upstream 192.0.2.1 at stratum 2.
sample_json() {
  printf '{"v":1,"type":"sample","source":"ntp://192.0.2.1:123","time":%s,"offset":%s,"delay":0.004,"dispersion":0.001,"stratum":2,"leap":%s,"refid":"GPS","poll":4,"root_delay":0.010,"root_dispersion":0.020}\n' \
    "$(date +%s%N)" "${1:-0.0}" "${2:-0}"
}

setup() {
  PORT=$(free_port)
  FIFO=$BATS_TEST_TMPDIR/upstream
  mkfifo "$FIFO"
}

start_serve() {  # ntp-serve --upstream - reading the fifo (held open by this shell on fd 7; bats owns fd 3)
  ntp-serve --listen "127.0.0.1:$PORT" --upstream - "$@" < "$FIFO" 2> "$BATS_TEST_TMPDIR/err" &
  SERVE_PID=$!
  track_pid $SERVE_PID
  exec 7> "$FIFO"
  wait_udp_bound "$PORT"
}

wait_for() {  # wait_for PATTERN: until an answer matches (up to 3 s)
  local i
  for i in $(seq 30); do
    out=$(ntp_fields "$PORT")
    [[ "$out" == $1 ]] && return 0
    sleep 0.1
  done
  echo "last answer: $out" >&2
  return 1
}

@test "before any sample: unsynchronised" {
  start_serve
  run ntp_fields "$PORT"
  [[ "$output" == "3 0 "* ]]
  exec 7>&-
}

@test "a sample from a stratum-2 upstream: stratum 3, refid 192.0.2.1, root delay and dispersion summed" {
  start_serve
  sample_json | timecat -i json -o cbor >&7
  wait_for "0 3 192.0.2.1 *"
  read -r leap stratum refid rdelay rdisp _ <<<"$out"
  [ "$refid" = "192.0.2.1" ]
  [ "$rdelay" = "0.0140" ]   # 0.010 + 0.004
  # 0.020 + 0.001 + 15 ppm × age: 0.0210 right after the sample
  [[ "$rdisp" == 0.021* ]]
  exec 7>&-
}

@test "served time is corrected by the best sample's offset, unless --no-correct" {
  start_serve
  sample_json 2.5 | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  read -r _ _ _ _ _ offset_ms <<<"$out"
  [ "$offset_ms" -ge 2490 ] && [ "$offset_ms" -le 2510 ]
  exec 7>&-
}

@test "--no-correct serves the local clock" {
  start_serve --no-correct
  sample_json 2.5 | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  read -r _ _ _ _ _ offset_ms <<<"$out"
  [ "$offset_ms" -ge -10 ] && [ "$offset_ms" -le 10 ]
  exec 7>&-
}

@test "the upstream's leap indicator is passed on" {
  start_serve
  sample_json 0.0 1 | timecat -i json -o cbor >&7
  wait_for "1 3 *"
  exec 7>&-
}

@test "a stale upstream (--stale-after): leap 3, stratum 0" {
  start_serve --stale-after 1s
  sample_json | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  sleep 1.2
  run ntp_fields "$PORT"
  [[ "$output" == "3 0 "* ]]
  # a fresh sample brings it back
  sample_json | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  exec 7>&-
}

@test "the stream ending: leap 3" {
  start_serve
  sample_json | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  exec 7>&-
  wait_for "3 0 *"
  kill -0 "$SERVE_PID"
}

@test "the stream ending with --stratum: the local clock takes over" {
  start_serve --stratum 9
  sample_json | timecat -i json -o cbor >&7
  wait_for "0 3 192.0.2.1 *"
  exec 7>&-
  wait_for "0 9 127.127.1.1 *"
}

@test "a broken stream is reported with its byte offset, and the server keeps answering unsynchronised" {
  start_serve
  sample_json | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  printf '\xff\xff' >&7
  exec 7>&-
  wait_for "3 0 *"
  grep -q "^ntp-serve: stdin: byte [0-9]*: .*upstream ignored" "$BATS_TEST_TMPDIR/err"
  kill -0 "$SERVE_PID"
}

@test "an IPv6 upstream gives an MD5 refid" {
  start_serve
  sample_json | sed 's|ntp://192.0.2.1:123|ntp://[2001:db8::1]:123|' | timecat -i json -o cbor >&7
  wait_for "0 3 *"
  read -r _ _ refid _ <<<"$out"
  expected=$(/usr/bin/python3 -c '
import hashlib, ipaddress
print(".".join(str(b) for b in hashlib.md5(ipaddress.ip_address("2001:db8::1").packed).digest()[:4]))')
  [ "$refid" = "$expected" ]
  exec 7>&-
}
