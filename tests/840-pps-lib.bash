# Shared by the pps-capture tests (84x): coarse-second sample streams and simulated-device edge
# files, built from exact nanosecond times so every offset can be checked to the nanosecond.

T0=1700000000  # a whole UTC second

# coarse_samples FIRST LAST [OFFSET] [LATENCY_MS] [LEAP]: one sample record per second FIRST..LAST
# (seconds after T0), received LATENCY_MS (300) after the second, saying UTC was the receive time
# plus OFFSET (0: the local clock is right); CBOR on stdout.
coarse_samples() {
  /usr/bin/python3 - "$T0" "$@" <<'PY' | timecat -i json -o cbor
import json, sys
t0, first, last = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
off = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
lat = int(sys.argv[5]) if len(sys.argv) > 5 else 300
leap = int(sys.argv[6]) if len(sys.argv) > 6 else 0
for i in range(first, last + 1):
    print(json.dumps({"v": 1, "type": "sample", "source": "gps://ttyS0", "time": (t0 + i) * 10**9 + lat * 10**6,
                      "offset": off, "delay": 0.0, "dispersion": 0.01, "stratum": 0, "leap": leap,
                      "refid": "GPS", "poll": 0}))
PY
}

# edge_line SEQ SECOND PHASE_NS [CLEAR_SEQ CLEAR_SECOND CLEAR_PHASE_NS]: one PPS_FETCH result whose
# assert edge is at T0 + SECOND + PHASE_NS ns (PHASE_NS may be negative: the local clock is
# behind); the clear edge likewise, or none (0 0).
edge_line() {
  /usr/bin/python3 - "$T0" "$@" <<'PY'
import sys
t0 = int(sys.argv[1])
def t(sec, phase):
    ns = (t0 + int(sec)) * 10**9 + int(phase)
    return "%d.%09d" % divmod(ns, 10**9)
a = sys.argv[2:]
clear = "%s %s" % (a[3], t(a[4], a[5])) if len(a) > 3 else "0 0"
print("%s %s %s" % (a[0], t(a[1], a[2]), clear))
PY
}

# pps_json ARGS...: pps-capture -o json with ARGS, its records in $BATS_TEST_TMPDIR/out.json,
# run through `run --separate-stderr`.
pps_json() {
  run --separate-stderr pps-capture -o json "$@"
  printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/out.json"
}

# samples_of FILE: the sample records of a JSON-lines file, one "time offset" line each, the
# offset in integer nanoseconds (the float rounded).
samples_of() {
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if not line: continue
    r = json.loads(line)
    if r["type"] == "sample":
        print(r["time"], round(r["offset"] * 1e9))
PY
}

# counter FILE NAME: that counter of the (last) stats record.
counter() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
value = None
for line in open(sys.argv[1]):
    line = line.strip()
    if line:
        r = json.loads(line)
        if r["type"] == "stats": value = r["counters"][sys.argv[2]]
print("none" if value is None else value)
PY
}

# wait_catches_term PID: up to ~20 s until the process has its SIGTERM handler (SigCgt bit 15).
wait_catches_term() {
  local i mask
  for i in $(seq 200); do
    mask=$(awk '/^SigCgt:/ {print $2}' "/proc/$1/status" 2>/dev/null)
    [ -n "$mask" ] && (( (16#$mask >> 14) & 1 )) && return 0
    sleep 0.1
  done
  echo "process $1 never caught SIGTERM" >&2
  return 1
}

# wait_path PATH: up to ~20 s for PATH to appear.
wait_path() {
  local i
  for i in $(seq 200); do
    [ -e "$1" ] && return 0
    sleep 0.1
  done
  echo "$1 did not appear" >&2
  return 1
}
