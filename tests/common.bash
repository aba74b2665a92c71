# Shared helpers for every Bats file: load it with `load common`.
# Peers are started on loopback with fresh ports and always killed by PID in teardown.

TIMEPIPE_BUILD=${TIMEPIPE_BUILD:-$BATS_TEST_DIRNAME/../build}
# Test peers (chronyd, chronyc, ntpdig) run from the cache scripts/fetch-peers fills, never from
# packages installed on this machine: their wrappers come first on PATH.
TIMEPIPE_PEERS=${TIMEPIPE_PEERS:-/var/cache/timepipe/peers}
PATH="$TIMEPIPE_BUILD/bin:$TIMEPIPE_PEERS/bin:$PATH"
export PATH TIMEPIPE_BUILD TIMEPIPE_PEERS
TESTS_DIR=$BATS_TEST_DIRNAME
PIDS_FILE=${BATS_TEST_TMPDIR:-/tmp}/pids

# A UDP and TCP port nobody is bound to on loopback right now. Drawn at random below the kernel's
# ephemeral range (ip_local_port_range), so no client socket of a test running in parallel can be
# given it between this check and the peer's bind; peers that can report the port they bound
# (port 0) should do that instead.
free_port() {
  /usr/bin/python3 - <<'PY'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
while True:
    port = random.randrange(10000, max(low, 10001))
    try:
        for family, kind, addr in ((socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1"),
                                   (socket.AF_INET6, socket.SOCK_DGRAM, "::1"),
                                   (socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1"),
                                   (socket.AF_INET6, socket.SOCK_STREAM, "::1")):
            s = socket.socket(family, kind); s.bind((addr, port)); s.close()
    except OSError:
        continue
    print(port); break
PY
}

# Remember a background process so teardown kills it.
track_pid() { echo "$1" >> "$PIDS_FILE"; }

kill_tracked() {
  [ -f "$PIDS_FILE" ] || return 0
  local pid
  while read -r pid; do
    kill -- "$pid" 2>/dev/null || true
  done < "$PIDS_FILE"
  sleep 0.1
  while read -r pid; do
    kill -9 -- "$pid" 2>/dev/null || true
  done < "$PIDS_FILE"
  rm -f "$PIDS_FILE"
}

# Remember a process started with setsid: teardown ends its whole process group (a pipeline a
# script started), SIGTERM then SIGKILL, so nothing of it outlives the test.
track_group() { echo "-$1" >> "$PIDS_FILE"; }

# wait_bound udp|tcp PORT TENTHS: something bound (UDP) or listening (TCP) on PORT within
# TENTHS tenths of a second.
wait_bound() {
  local i flag=$([ "$1" = udp ] && echo -Hnlu || echo -Hnlt)
  for i in $(seq "$3"); do
    ss "$flag" "sport = :$2" | grep -q . && return 0
    sleep 0.1
  done
  echo "nothing bound to $1 port $2" >&2
  return 1
}

# wait_udp_bound PORT: up to ~20 s (a sanitized server on a machine busy with make check's other
# suite took more than 5); wait_tcp_bound PORT: up to ~30 s.
wait_udp_bound() { wait_bound udp "$1" 200; }
wait_tcp_bound() { wait_bound tcp "$1" 300; }

# require_cmd NAME: a missing peer is a failure, never a skip (make check fetches the peers into
# $TIMEPIPE_PEERS with scripts/fetch-peers and installs the rest with scripts/install-deps).
require_cmd() {
  command -v "$1" >/dev/null 2>&1 && return 0
  case $1 in
    chrony* | ntpdig | gps*) echo "missing $1: run scripts/fetch-peers (cache $TIMEPIPE_PEERS)" >&2 ;;
    *) echo "missing $1: run scripts/install-deps" >&2 ;;
  esac
  return 1
}

# start_chronyd_server PORT [STRATUM] [ADDRESS]: a chronyd serving its local clock on loopback.
# -x: chronyd never touches this machine's clock.  Sets CHRONY_DIR.
start_chronyd_server() {
  local port=$1 stratum=${2:-3} addr=${3:-127.0.0.1}
  require_cmd chronyd
  CHRONY_DIR=$(mktemp -d "$BATS_TEST_TMPDIR/chrony.XXXX")
  chmod 0755 "$CHRONY_DIR"
  cat > "$CHRONY_DIR/chrony.conf" <<CONF
port $port
bindaddress $addr
local stratum $stratum
allow all
cmdport 0
bindcmdaddress /
pidfile $CHRONY_DIR/chronyd.pid
driftfile $CHRONY_DIR/drift
CONF
  chronyd -x -d -u root -f "$CHRONY_DIR/chrony.conf" > "$CHRONY_DIR/log" 2>&1 &
  track_pid $!
  wait_udp_bound "$port"
}

# start_chronyd_client SERVER PORT [OPTION...]: a chronyd that polls SERVER:PORT fast, never
# adjusting the clock, queryable with `chronyc_client sources`; OPTIONs (e.g. xleave) go on its
# server line. Sets CHRONY_DIR.
start_chronyd_client() {
  local server=$1 port=$2
  shift 2
  require_cmd chronyd
  CHRONY_DIR=$(mktemp -d "$BATS_TEST_TMPDIR/chronyc.XXXX")
  chmod 0700 "$CHRONY_DIR"  # chronyd disables a command socket in a directory others can read
  cat > "$CHRONY_DIR/chrony.conf" <<CONF
server $server port $port iburst minpoll -2 maxpoll -2${*:+ $*}
port 0
bindcmdaddress $CHRONY_DIR/chronyd.sock
pidfile $CHRONY_DIR/chronyd.pid
driftfile $CHRONY_DIR/drift
logdir $CHRONY_DIR
log measurements
CONF
  chronyd -x -d -u root -f "$CHRONY_DIR/chrony.conf" > "$CHRONY_DIR/log" 2>&1 &
  track_pid $!
}

chronyc_client() { chronyc -h "$CHRONY_DIR/chronyd.sock" -n "$@"; }

# ntp_answer PORT: one NTPv4 client exchange with 127.0.0.1:PORT (Debian's python, no NTP code
# of ours), printed as "leap stratum refid root_delay root_dispersion offset_ms offset_s"
# (root delay and dispersion in s, 4 decimals; refid as a dotted quad), or "no answer" after
# 0.5 s. Test files pick the fields they check with ntp_answer_fields.
ntp_answer() {
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
      "%.0f" % (offset * 1000), "%.0f" % offset)
PY
}

# ntp_answer_fields PORT N...: fields N... (1-based, as above) of ntp_answer, or "no answer".
ntp_answer_fields() {
  local port=$1; shift
  local line; line=$(ntp_answer "$port")
  if [ "$line" = "no answer" ]; then echo "$line"; return 0; fi
  local -a f; read -ra f <<< "$line"
  local out=() n
  for n in "$@"; do out+=("${f[n - 1]}"); done
  echo "${out[*]}"
}

teardown() { kill_tracked; }

# start_pulses FIFO: a simulated PPS device for pps-capture -d sim:FIFO: one PPS_FETCH line at
# each whole second of the local clock, the assert edge 20 us after it (a receiver's pulse as the
# clock sees it), until the reader goes away.
start_pulses() {
  mkfifo "$1"
  /usr/bin/python3 - "$1" <<'PY' &
import sys, time
try:
    with open(sys.argv[1], "w", buffering=1) as f:
        seq = 1
        while True:
            now = time.time()
            second = int(now) + 1
            time.sleep(second - now)
            f.write("%d %d.000020000 0 0\n" % (seq, second))
            seq += 1
except BrokenPipeError:
    pass  # the reader is done
PY
  track_pid $!
}
