# Helpers of the SHM/SOCK refclock tests (820-839). SHM keys are machine-wide: every process of
# a test that touches a segment runs inside one private IPC namespace the test creates
# (ipc_ns_start), so this machine's own gpsd/chronyd segments are never seen or touched.

# ipc_ns_start: a holder process in a new IPC namespace; sets IPC_NS to its PID. Killed in teardown.
ipc_ns_start() {
  require_cmd unshare
  require_cmd nsenter
  unshare --ipc sleep 600 &
  IPC_NS=$!
  track_pid "$IPC_NS"
  local i
  for i in $(seq 50); do
    [ "$(readlink /proc/$IPC_NS/ns/ipc)" != "$(readlink /proc/self/ns/ipc)" ] && return 0
    sleep 0.05
  done
  echo "unshare --ipc did not start" >&2
  return 1
}

# in_ns CMD...: CMD inside the test's IPC namespace. In the background write nsenter out instead
# (`nsenter -t "$IPC_NS" --ipc CMD &`): nsenter execs CMD, so $! is CMD's PID for track_pid,
# where a backgrounded function would leave $! a subshell's and CMD outliving teardown.
in_ns() { nsenter -t "$IPC_NS" --ipc "$@"; }

# live_samples N PERIOD OFFSET: N sample records as CBOR, one every PERIOD s, each stamped now
# with the same small OFFSET (chronyd takes refclock samples only when they are recent).
live_samples() {
  /usr/bin/python3 - "$@" <<'PY' | timecat -i json -o cbor
import json, sys, time
n, period, off = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
for i in range(n):
    print(json.dumps({"v": 1, "type": "sample", "source": "gen://steady", "time": time.time_ns(),
        "offset": off, "delay": 0, "dispersion": 1e-6, "stratum": 0, "leap": 0,
        "refid": "GEN", "poll": 0}), flush=True)
    time.sleep(period)
PY
}

# start_chronyd_refclock REFCLOCK-LINE: a chronyd (-x, never touches the clock) inside the IPC
# namespace with only that refclock, its command socket in its own directory. Sets CHRONY_DIR.
start_chronyd_refclock() {
  require_cmd chronyd
  CHRONY_DIR=$(mktemp -d "$BATS_TEST_TMPDIR/chronyd.XXXX")
  chmod 0700 "$CHRONY_DIR"
  cat > "$CHRONY_DIR/chrony.conf" <<CONF
$1
port 0
bindcmdaddress $CHRONY_DIR/chronyd.sock
pidfile $CHRONY_DIR/chronyd.pid
driftfile $CHRONY_DIR/drift
CONF
  nsenter -t "$IPC_NS" --ipc chronyd -x -d -u root -f "$CHRONY_DIR/chrony.conf" > "$CHRONY_DIR/log" 2>&1 &
  track_pid $!
  local i
  for i in $(seq 100); do
    [ -S "$CHRONY_DIR/chronyd.sock" ] && return 0
    sleep 0.1
  done
  cat "$CHRONY_DIR/log" >&2
  return 1
}

# wait_selected REFID: until `chronyc sources` shows REFID as the selected source (#*), up to
# ~30 s; prints the last table either way.
wait_selected() {
  local i out
  for i in $(seq 60); do
    out=$(chronyc -h "$CHRONY_DIR/chronyd.sock" -n sources 2>&1)
    if printf '%s\n' "$out" | grep -qE "^#\* +$1 "; then
      printf '%s\n' "$out"
      return 0
    fi
    sleep 0.5
  done
  printf '%s\n' "$out"
  cat "$CHRONY_DIR/log"
  return 1
}

# start_gpsd_nmea SECONDS: gpsd (-N -n -b, inside the IPC namespace) reading hand-made NMEA
# (ZDA, GGA with a fix, RMC, correct checksums) that names each current second just after it
# begins, for SECONDS seconds. The sentences come over TCP from a /usr/bin/python3 feeder, not
# over a pty: gpsd 3.22 never writes SHM for a pty source (ntpshm_link_activate: "don't talk to
# NTP when we're running inside the test harness"). gpsd, as root, writes the serial time to
# unit 0 (NTP0).
start_gpsd_nmea() {
  require_cmd gpsd
  /usr/bin/python3 - "$1" > "$BATS_TEST_TMPDIR/feeder.port" <<'PY' &
import socket, sys, time
def nmea(body):
    c = 0
    for ch in body.encode():
        c ^= ch
    return "$%s*%02X\r\n" % (body, c)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
print(srv.getsockname()[1], flush=True)
srv.settimeout(30)
conn, _ = srv.accept()
for i in range(int(sys.argv[1])):
    time.sleep(1 - (time.time() % 1) + 0.05)
    t = time.gmtime(int(time.time()))
    hms = time.strftime("%H%M%S.00", t)
    out = nmea("GPZDA,%s,%02d,%02d,%04d,00,00" % (hms, t.tm_mday, t.tm_mon, t.tm_year))
    out += nmea("GPGGA,%s,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,," % hms)
    out += nmea("GPRMC,%s,A,4807.038,N,01131.000,E,0.0,0.0,%s,,,A" % (hms, time.strftime("%d%m%y", t)))
    conn.sendall(out.encode())
PY
  track_pid $!
  local i
  for i in $(seq 50); do
    [ -s "$BATS_TEST_TMPDIR/feeder.port" ] && break
    sleep 0.05
  done
  nsenter -t "$IPC_NS" --ipc gpsd -N -n -b -S "$(free_port)" "tcp://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/feeder.port")" \
    > "$BATS_TEST_TMPDIR/gpsd.log" 2>&1 &
  track_pid $!
  # ntpshmmon attaches only the segments that exist when it starts: wait for gpsd's
  for i in $(seq 100); do
    in_ns ipcs -m | grep -q '^0x4e545030 ' && return 0
    sleep 0.1
  done
  cat "$BATS_TEST_TMPDIR/gpsd.log" >&2
  return 1
}

# nmea_live SECONDS: NMEA (GGA, RMC, ZDA with a fix, correct checksums) on stdout naming each
# current second 50 ms after it begins, for SECONDS seconds: a receiver's serial time, live.
nmea_live() {
  /usr/bin/python3 - "$1" <<'PY'
import sys, time
def nmea(body):
    c = 0
    for ch in body.encode():
        c ^= ch
    return "$%s*%02X\r\n" % (body, c)
for i in range(int(sys.argv[1])):
    time.sleep(1 - (time.time() % 1) + 0.05)
    t = time.gmtime(int(time.time()))
    hms = time.strftime("%H%M%S.00", t)
    sys.stdout.write(nmea("GPGGA,%s,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,," % hms)
        + nmea("GPRMC,%s,A,4807.038,N,01131.000,E,0.0,0.0,%s,,,A" % (hms, time.strftime("%d%m%y", t)))
        + nmea("GPZDA,%s,%02d,%02d,%04d,00,00" % (hms, t.tm_mday, t.tm_mon, t.tm_year)))
    sys.stdout.flush()
PY
}
