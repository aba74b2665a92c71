#!/usr/bin/env bats
# shm-import(1): options; the segment gpsd 3.22 writes read as samples that match what gpsd's
# own ntpshmmon sees; a writer process hammering a segment while shm-import reads never yields
# a mixed sample. Every SHM process runs in a private IPC namespace.
bats_require_minimum_version 1.5.0
load common
load 820-shm-lib

setup() {
  require_cmd shm-import
  require_cmd shm-export
  require_cmd timecat
}

@test "shm-import -h, -V" {
  run --separate-stderr shm-import -h
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
  run --separate-stderr shm-import -V
  [ "$status" -eq 0 ]
  [[ "$output" == "shm-import "* ]]
}

@test "shm-import: bad options are one line, EX_USAGE" {
  run --separate-stderr shm-import --bogus 0
  [ "$status" -eq 64 ]
  [ "$stderr" = "shm-import: --bogus: unknown option (see -h)" ]
  run --separate-stderr shm-import
  [ "$status" -eq 64 ]
  [ "$stderr" = "shm-import: missing unit (see -h)" ]
  run --separate-stderr shm-import --refid TOOLONG 0
  [ "$status" -eq 64 ]
  [ "$stderr" = 'shm-import: --refid: "TOOLONG" is not 1-4 characters' ]
  run --separate-stderr shm-import -i soon 0
  [ "$status" -eq 64 ]
  [[ "$stderr" == "shm-import: --interval: "* ]]
  run --separate-stderr shm-import -o xml 0
  [ "$status" -eq 64 ]
}

@test "shm-import reads the segment gpsd writes, sample for sample what ntpshmmon sees" {
  require_cmd ntpshmmon
  ipc_ns_start
  start_gpsd_nmea 12
  nsenter -t "$IPC_NS" --ipc ntpshmmon -n 6 -t 12 > "$BATS_TEST_TMPDIR/mon.txt" &
  local mon=$!
  track_pid $mon
  run --separate-stderr in_ns shm-import -o json -i 100ms -n 6 -x 12s 0
  wait $mon || true
  echo "$output"
  cat "$BATS_TEST_TMPDIR/mon.txt"
  [ "$status" -eq 0 ]
  [ "$(printf '%s\n' "$output" | grep -c '"source":"shm://0"')" -ge 4 ]
  # ntpshmmon: "sample NTP0 seen clock(local) real(GPS) leap precision"; ours: time = local,
  # offset = GPS - local. Every sample of ours is one of gpsd's, to the nanosecond.
  printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/ours.json"
  run /usr/bin/python3 - "$BATS_TEST_TMPDIR/mon.txt" "$BATS_TEST_TMPDIR/ours.json" <<'PY'
import json, sys
from decimal import Decimal
theirs = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 7 and f[0] == "sample" and f[1] == "NTP0":
        local = int(Decimal(f[3]) * 10**9)
        theirs[local] = (int(Decimal(f[4]) * 10**9) - local, int(f[5]), int(f[6]))
ours = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
matched = 0
for s in ours:
    if s["time"] not in theirs:
        continue
    off_ns, leap, prec = theirs[s["time"]]
    assert round(s["offset"] * 1e9) == off_ns, (s, theirs[s["time"]])
    assert s["leap"] == leap and s["precision"] == prec and s["refid"] == "GPS" and s["stratum"] == 0, s
    matched += 1
print("gpsd wrote %d, we read %d, matched %d" % (len(theirs), len(ours), matched))
sys.exit(0 if len(theirs) >= 4 and matched >= 3 and matched >= len(ours) - 1 else 1)
PY
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "a writer hammering the segment: every sample shm-import accepts is whole" {
  ipc_ns_start
  # sample k: time T0 + k * 1000003 ns, offset k ns: a mixed read breaks the relation
  /usr/bin/python3 - <<'PY' | timecat -i json -o cbor > "$BATS_TEST_TMPDIR/burst.cbor"
import json
t0 = 1700000000 * 10**9
for k in range(1, 20001):
    print(json.dumps({"v": 1, "type": "sample", "source": "burst", "time": t0 + k * 1000003,
        "offset": k * 1e-9, "delay": 0, "dispersion": 0, "stratum": 1, "leap": k % 3,
        "refid": "B", "poll": 0, "precision": -(k % 30)}))
PY
  nsenter -t "$IPC_NS" --ipc sh -c "while :; do shm-export 5 < '$BATS_TEST_TMPDIR/burst.cbor' || exit 1; done" &
  track_pid $!
  run --separate-stderr in_ns shm-import -v -o json -i 1ms -n 300 -x 60s 5
  [ "$status" -eq 0 ]
  echo "$stderr"
  printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/got.json"
  run /usr/bin/python3 - "$BATS_TEST_TMPDIR/got.json" <<'PY'
import json, sys
t0 = 1700000000 * 10**9
n = 0
for line in open(sys.argv[1]):
    s = json.loads(line)
    k, rest = divmod(s["time"] - t0, 1000003)
    assert rest == 0 and 1 <= k <= 20000, s
    assert round(s["offset"] * 1e9) == k and s["leap"] == k % 3 and s["precision"] == -(k % 30), s
    n += 1
print("%d whole samples" % n)
sys.exit(0 if n == 300 else 1)
PY
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "--clear consumes the sample as chronyd does; a looking reader leaves it; SIGTERM ends with 0" {
  ipc_ns_start
  live_samples 1 0 0.001 | in_ns shm-export 6
  # looking (the default) twice: the sample is still there for the second reader
  run --separate-stderr in_ns shm-import -o json -n 1 -x 5s 6
  [ "$status" -eq 0 ]
  [[ "$output" == *'"offset":0.001,'* ]]
  run --separate-stderr in_ns shm-import -o json -n 1 -x 5s --clear 6
  [ "$status" -eq 0 ]
  [[ "$output" == *'"offset":0.001,'* ]]
  # consumed: the next reader finds nothing and writes nothing
  run --separate-stderr in_ns shm-import -o json -i 50ms -x 500ms 6
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  nsenter -t "$IPC_NS" --ipc shm-import -o json 6 > "$BATS_TEST_TMPDIR/out" &
  local pid=$!
  track_pid $pid
  sleep 0.3
  kill -TERM $pid
  local st=0
  wait $pid || st=$?
  [ "$st" -eq 0 ]
}

# shm_write_raw UNIT MODE COUNT CLOCK_S CLOCK_US RECV_S RECV_US LEAP PREC VALID CLOCK_NS RECV_NS: a
# struct shmTime laid out by hand (Python's struct, x86-64: ints, 8-byte time_t) into the
# segment, through libc's shmget/shmat, with no code of ours.
shm_write_raw() {
  in_ns /usr/bin/python3 - "$@" <<'PY'
import ctypes, struct, sys
a = [int(x) for x in sys.argv[1:]]
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
shmid = libc.shmget(0x4e545030 + a[0], 96, 0o1000 | 0o666)
assert shmid >= 0, ctypes.get_errno()
p = libc.shmat(shmid, None, 0)
mode, count, cs, cus, rs, rus, leap, prec, valid, cns, rns = a[1:]
data = struct.pack("<iiqi4xqiiiiiII32x4x", mode, count, cs, cus, rs, rus, leap, prec, 0, valid, cns, rns)
assert len(data) == 96
ctypes.memmove(p, data, 96)
PY
}

@test "a segment laid out by hand: read to the nanosecond; fields out of range said on stderr, never a sample" {
  ipc_ns_start
  shm_write_raw 7 1 2 1700000000 123456 1699999999 999999 1 -19 1 123456789 999999999
  run --separate-stderr in_ns shm-import -o json -n 1 -x 5s 7
  [ "$status" -eq 0 ]
  [[ "$output" == *'"source":"shm://7","time":1699999999999999999,"offset":0.12345679,'*'"leap":1,"refid":"SHM",'*'"precision":-19}' ]]
  # nanoseconds that disagree with the microseconds are not taken (chrony's rule)
  shm_write_raw 7 1 4 1700000000 5 1700000000 0 0 -19 1 777 0
  run --separate-stderr in_ns shm-import -o json -n 1 -x 5s 7
  [[ "$output" == *'"time":1700000000000000000,"offset":5e-06,'* ]]
  shm_write_raw 7 5 6 1700000000 0 1700000000 0 0 -19 1 0 0
  run --separate-stderr in_ns shm-import -o json -i 100ms -x 1s 7
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  [ "$(printf '%s\n' "$stderr" | head -1)" = "shm-import: unit 7: mode: 5 is not 0 or 1" ]
  shm_write_raw 7 1 8 1700000000 1000000 1700000000 0 0 -19 1 0 0
  run --separate-stderr in_ns shm-import -o json -i 100ms -x 1s 7
  [ -z "$output" ]
  [ "$(printf '%s\n' "$stderr" | head -1)" = "shm-import: unit 7: clockTimeStampUSec: 1000000 is not 0-999999" ]
}
