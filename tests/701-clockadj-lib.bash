# Helpers for tests/701-clockadj-*.bats: hand-made CBOR records (so hostile values our own
# encoder refuses to write, NaN or "v": 2, can be fed), and the kernel's frequency and status
# read and restored with adjtimex(2) through ctypes, independently of clockadj.

# cbor 'PYTHON LITERAL' ...: each argument a dict/list/str/int/float/bool (float("nan") allowed),
# written as one CBOR item to stdout.
cbor() {
  /usr/bin/python3 - "$@" <<'PY'
import struct, sys
def enc(x):
    def head(major, n):
        if n < 24: return bytes([major << 5 | n])
        for ai, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
            if n < 1 << (8 * struct.calcsize(fmt)): return bytes([major << 5 | ai]) + struct.pack(fmt, n)
    if x is True: return b"\xf5"
    if x is False: return b"\xf4"
    if x is None: return b"\xf6"
    if isinstance(x, int): return head(0, x) if x >= 0 else head(1, -1 - x)
    if isinstance(x, float): return b"\xfb" + struct.pack(">d", x)
    if isinstance(x, str): b = x.encode(); return head(3, len(b)) + b
    if isinstance(x, bytes): return head(2, len(x)) + x
    if isinstance(x, list): return head(4, len(x)) + b"".join(enc(i) for i in x)
    if isinstance(x, dict): return head(5, len(x)) + b"".join(enc(k) + enc(v) for k, v in x.items())
    raise SystemExit("cbor: cannot encode %r" % (x,))
try:
    for arg in sys.argv[1:]:
        sys.stdout.buffer.write(enc(eval(arg, {"nan": float("nan"), "inf": float("inf")})))
    sys.stdout.flush()
except BrokenPipeError:  # the reader stopped at a bad record: expected
    sys.stderr.close()
PY
}

# The UTC time now in ns (for leap records, which clockadj arms only on their day).
now_ns() { /usr/bin/python3 -c 'import time; print(time.time_ns())'; }

# kernel_timex get|set FREQ STATUS TICK|watch NOMINAL: adjtimex(2) through ctypes. get prints
# "FREQ STATUS TICK" (freq in 2^-16 ppm, tick in us); set restores exactly those (ADJ_FREQUENCY |
# ADJ_STATUS | ADJ_TICK). watch polls every millisecond (no start-up delay to race a short slew)
# until the tick has left NOMINAL and come back, or 10 s: prints "FREQ TICK" as first seen off
# nominal, then "FREQ TICK" as it came back ("none" if it never left or never came back).
kernel_timex() {
  /usr/bin/python3 - "$@" <<'PY'
import ctypes, sys, time
c_long, c_int = ctypes.c_long, ctypes.c_int
class Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", c_long), ("tv_usec", c_long)]
class Timex(ctypes.Structure):
    _fields_ = [("modes", ctypes.c_uint), ("offset", c_long), ("freq", c_long), ("maxerror", c_long),
                ("esterror", c_long), ("status", c_int), ("constant", c_long), ("precision", c_long),
                ("tolerance", c_long), ("time", Timeval), ("tick", c_long), ("ppsfreq", c_long),
                ("jitter", c_long), ("shift", c_int), ("stabil", c_long), ("jitcnt", c_long),
                ("calcnt", c_long), ("errcnt", c_long), ("stbcnt", c_long), ("tai", c_int),
                ("pad", c_int * 11)]
libc = ctypes.CDLL(None, use_errno=True)
def adjtimex(modes=0, freq=0, status=0, tick=0):
    tx = Timex()
    tx.modes, tx.freq, tx.status, tx.tick = modes, freq, status, tick
    if libc.adjtimex(ctypes.byref(tx)) < 0:
        raise SystemExit("adjtimex: errno %d" % ctypes.get_errno())
    return tx
if sys.argv[1] == "set":
    adjtimex(0x0002 | 0x0010 | 0x4000, *map(int, sys.argv[2:5]))  # ADJ_FREQUENCY|ADJ_STATUS|ADJ_TICK
elif sys.argv[1] == "get":
    tx = adjtimex()
    print(tx.freq, tx.status, tx.tick)
elif sys.argv[1] == "watch":
    nominal, seen, back = int(sys.argv[2]), None, None
    print("ready", flush=True)
    end = time.monotonic() + 10
    while time.monotonic() < end and back is None:
        tx = adjtimex()
        if tx.tick != nominal and seen is None:
            seen = "%d %d" % (tx.freq, tx.tick)
        elif tx.tick == nominal and seen is not None:
            back = "%d %d" % (tx.freq, tx.tick)
        time.sleep(0.001)
    print(seen or "none")
    print(back or "none")
PY
}

# Wait until FILE has at least N lines (a process writes them as it acts), up to ~10 s.
wait_lines() {  # wait_lines FILE N
  local i
  for i in $(seq 100); do
    [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "$1: fewer than $2 lines" >&2
  cat "$1" >&2
  return 1
}
