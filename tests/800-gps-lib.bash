# Shared by the gps-reader tests (80x, 81x): the NMEA generator, and gpsd as the peer that reads
# the same bytes through a pseudo-terminal.

NMEA_GEN=$TESTS_DIR/helpers/nmea-gen

# wait_file PATH: up to ~20 s for PATH to appear.
wait_file() {
  local i
  for i in $(seq 200); do
    [ -e "$1" ] && return 0
    sleep 0.1
  done
  echo "$1 did not appear" >&2
  return 1
}

# gpsd_run DIR GEN-ARGS...: nmea-gen writes through a pty ($DIR/tty) that gpsd (read-only, its
# own port and control socket, never the host's) reads; gpspipe -w records gpsd's view in
# $DIR/gpsd.json; the generator keeps a copy of every byte in $DIR/nmea and its truth in
# $DIR/truth. Returns when the generator is done.
gpsd_run() {
  local dir=$1 port i
  shift
  require_cmd gpsd
  require_cmd gpspipe
  port=$(free_port)
  "$NMEA_GEN" --pty "$dir/tty" --wait-for "$dir/go" --log "$dir/nmea" --truth "$dir/truth" "$@" &
  local gen=$!
  track_pid "$gen"
  wait_file "$dir/tty"
  # In a private IPC namespace: gpsd creates ntpd's SHM segments (NTP0-NTP7) when it starts, and
  # the machine's own segments, a time daemon's, are never to be touched (unshare execs gpsd).
  unshare --ipc gpsd -N -n -b -F "$dir/gpsd.sock" -S "$port" -P "$dir/gpsd.pid" "$dir/tty" 2>"$dir/gpsd.err" &
  track_pid $!
  wait_tcp_bound "$port"
  gpspipe -w "127.0.0.1:$port" >"$dir/gpsd.json" 2>"$dir/gpspipe.err" &
  track_pid $!
  for i in $(seq 200); do
    grep -q '"class":"DEVICES"' "$dir/gpsd.json" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '"class":"DEVICES"' "$dir/gpsd.json"
  touch "$dir/go"
  wait "$gen"
  sleep 0.3  # gpsd's last report
}

# compare_with_gpsd DIR OURS-JSON: sentence by sentence from the first epoch gpsd reports (before
# it, gpsd is still detecting the device), against the generator's truth ($DIR/truth):
#  - gps-reader accepts (a valid gps_fix) exactly the epochs the receiver marked valid;
#  - gpsd reports a 2D/3D fix for each of them with the same time, lat/lon within 1e-6 degrees
#    (NMEA carries 1e-4 minutes) and altitude within 0.05 m (when the epoch's GGA came through).
# Deliberate differences, printed and counted, never silently passed: a leap second (23:59:60)
# gpsd reports no fix for, gps-reader writes a gps_fix (and no sample); gpsd 3.22 reporting a
# fix for an epoch the receiver marked invalid (GGA quality 0, RMC V) -- gps-reader refuses it;
# a second gpsd writes no report for at all (when a bad sentence hides its cycle end, gpsd's
# next report names the next second): not compared, and at most a quarter of those compared.
compare_with_gpsd() {
  /usr/bin/python3 - "$1/gpsd.json" "$2" "$1/truth" <<'PY'
import json, sys
gpsd_file, ours_file, truth_file = sys.argv[1:4]
gpsd, seen, first = {}, set(), None
for line in open(gpsd_file):
    try:
        o = json.loads(line)
    except ValueError:
        continue
    if o.get("class") != "TPV" or "time" not in o:
        continue
    first = first or o["time"]
    seen.add(o["time"])
    if o.get("mode", 0) >= 2:
        gpsd[o["time"]] = o
if first is None or not gpsd:
    sys.exit("gpsd reported no fix at all")
ours = {}
for line in open(ours_file):
    o = json.loads(line)
    if o["type"] == "gps_fix" and o["valid"]:
        ours[o["utc"]] = o
truth = [json.loads(l) for l in open(truth_file)]
known = {t["utc"] for t in truth}
if set(ours) - known:
    sys.exit("gps-reader accepts epochs the generator never sent: %s" % sorted(set(ours) - known))
agree = leap = lenient = unreported = 0
for t in truth:
    utc = t["utc"]
    if utc < first:
        continue
    if (utc in ours) != t["valid"]:
        sys.exit("%s: gps-reader %s an epoch the receiver marked %s (faults %s)" % (
            utc, "accepts" if utc in ours else "refuses", "valid" if t["valid"] else "invalid", t["faults"]))
    if not t["valid"]:
        if utc in gpsd:
            print(utc, "gpsd reports a fix the receiver marked invalid; gps-reader refuses it", t["faults"])
            lenient += 1
        continue
    if utc.endswith(":60.000Z"):
        print(utc, "leap second: gpsd reports %s, gps-reader a fix without a sample" % ("a fix" if utc in gpsd else "none"))
        leap += 1
        continue
    if utc not in seen:
        print(utc, "gpsd wrote no report naming this second (merged into the next cycle's)")
        unreported += 1
        continue
    if utc not in gpsd:
        sys.exit("%s: gps-reader accepts, gpsd reports no fix (faults %s)" % (utc, t["faults"]))
    g, o = gpsd[utc], ours[utc]
    alt = g.get("altMSL", g.get("alt"))
    if abs(g["lat"] - o["latitude"]) > 1e-6 or abs(g["lon"] - o["longitude"]) > 1e-6 or \
       ("altitude" in o and (alt is None or abs(alt - o["altitude"]) > 0.05)):
        sys.exit("%s: gpsd %s %s %s, gps-reader %s %s %s" % (utc, g["lat"], g["lon"], alt,
                 o["latitude"], o["longitude"], o.get("altitude")))
    agree += 1
print("agree %d leap %d gpsd-lenient %d gpsd-unreported %d" % (agree, leap, lenient, unreported))
if agree == 0 or unreported * 4 > agree:
    sys.exit("too few epochs compared")
PY
}
