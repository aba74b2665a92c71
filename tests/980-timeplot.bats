#!/usr/bin/env bats
# timeplot(1): recorded streams (clocksim's, and tests/data/plot's clocksim + discipline run) drawn
# through the real gnuplot as PNG and SVG and checked as images; JSON lines; filters; hostile
# source names that must not run anything; bad input, a missing or failing gnuplot; -f.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd timeplot
  require_cmd timecat
  require_cmd clocksim
  require_cmd discipline
  [ -x /usr/bin/gnuplot ] || { echo "missing gnuplot: run scripts/install-deps --check" >&2; return 1; }
  REC=$TESTS_DIR/data/plot/falseticker-4h.cbor
}

# png_info FILE: "WIDTH HEIGHT COLOURS" of a PNG, read with zlib (8-bit RGB or RGBA, not
# interlaced: what pngcairo writes); fails on anything that is not such a PNG.
png_info() {
  /usr/bin/python3 - "$1" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
pos, idat, ihdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0], "bad CRC"
    if kind == b"IHDR": ihdr = struct.unpack(">IIBBBBB", body)
    if kind == b"IDAT": idat += body
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = ihdr
assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
bpp = 3 if ctype == 2 else 4
raw, stride, prev, colours, off = zlib.decompress(idat), w * bpp, bytearray(w * bpp), set(), 0
for y in range(h):
    f, line = raw[off], bytearray(raw[off + 1:off + 1 + stride]); off += 1 + stride
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp): colours.add(bytes(line[x:x + bpp]))
    prev = line
print(w, h, len(colours))
PY
}

# svg_legend FILE: the well-formed SVG's texts, one per line (fails on XML that does not parse).
svg_texts() {
  /usr/bin/python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
for t in root.iter("{http://www.w3.org/2000/svg}text"):
    print("".join(t.itertext()))
PY
}

# svg_traces FILE: the number of drawn plots (gnuplot's <g id="gnuplot_plot_N?"> groups) with a path.
svg_traces() {
  /usr/bin/python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
print(sum(1 for g in ET.parse(sys.argv[1]).getroot().iter(ns + "g")
          if g.get("id", "").startswith("gnuplot_plot_") and g.find(".//" + ns + "path") is not None))
PY
}

# sources NAME...: JSON lines, 10 samples of each NAME (64 s apart, offsets growing).
sources() {
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
t = 1700000000 * 10**9
for i in range(10):
    for k, name in enumerate(sys.argv[1:]):
        print(json.dumps({"v": 1, "type": "sample", "source": name, "time": t + i * 64 * 10**9 + k,
            "offset": 0.001 * i * (k + 1), "delay": 0.0004, "dispersion": 1e-6, "stratum": 1,
            "leap": 0, "refid": "GPS", "poll": 6 + i // 4}))
PY
}

@test "timeplot -h, -V, bad options are one line and EX_USAGE" {
  run --separate-stderr timeplot -h
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
  run --separate-stderr timeplot -V
  [[ "$output" == "timeplot "* ]]
  run --separate-stderr timeplot -T jpg "$REC"
  [ "$status" -eq 64 ]
  [ "$stderr" = 'timeplot: -T: unknown image type "jpg" (png or svg)' ]
  run --separate-stderr timeplot -s 10x10 "$REC"
  [ "$status" -eq 64 ]
  run --separate-stderr timeplot --from yesterday "$REC"
  [ "$status" -eq 64 ]
  [[ "$stderr" == "timeplot: --from: \"yesterday\" is not a time"* ]]
  run --separate-stderr timeplot -o day.jpg "$REC"
  [ "$status" -eq 64 ]
  run --separate-stderr timeplot -f "$REC"
  [ "$status" -eq 64 ]
  [ "$stderr" = "timeplot: -f: needs -o FILE and one input file (not standard input)" ]
  run --separate-stderr timeplot --bogus
  [ "$status" -eq 64 ]
  [ "$stderr" = "timeplot: --bogus: unknown option (see -h)" ]
}

@test "timeplot: a terminal on standard output is refused" {
  run script -qec "timeplot '$REC'" /dev/null
  [ "$status" -eq 64 ]
  [[ "$output" == *"timeplot: standard output is a terminal: give -o FILE or redirect it"* ]]
}

@test "timeplot: a clocksim recording as PNG: the size asked, not blank" {
  clocksim --scenario "$TESTS_DIR/data/scenarios/falseticker.scenario" --duration 1200 \
    --record "$BATS_TEST_TMPDIR/rec.cbor" >/dev/null
  run --separate-stderr timeplot -s 800x600 "$BATS_TEST_TMPDIR/rec.cbor"
  [ "$status" -eq 0 ]
  timeplot -s 800x600 "$BATS_TEST_TMPDIR/rec.cbor" > "$BATS_TEST_TMPDIR/rec.png"
  read -r w h colours < <(png_info "$BATS_TEST_TMPDIR/rec.png")
  [ "$w" -eq 800 ] && [ "$h" -eq 600 ]
  echo "colours: $colours"
  [ "$colours" -gt 20 ]   # white, black, grid grey, four traces and their anti-aliasing
  # the counter-check: a blank PNG of that size has one colour
  /usr/bin/gnuplot -d -e "set terminal pngcairo size 800,600; set output '$BATS_TEST_TMPDIR/blank.png'; unset border; unset tics; plot [0:1][0:1] NaN notitle"
  read -r w h colours < <(png_info "$BATS_TEST_TMPDIR/blank.png")
  [ "$colours" -le 2 ]
}

@test "timeplot: the recorded stream as SVG: well-formed, one legend entry and trace per source" {
  run timeplot -o "$BATS_TEST_TMPDIR/rec.svg" "$REC"
  [ "$status" -eq 0 ]
  run svg_texts "$BATS_TEST_TMPDIR/rec.svg"
  [ "$status" -eq 0 ]
  for s in 1 2 3 4; do
    [ "$(grep -cx "ntp://192.0.2.$s:123" <<<"$output")" -eq 1 ]
  done
  [ "$(grep -cx "discipline (tracking)" <<<"$output")" -eq 1 ]
  [[ "$output" == *"offset (ms), bars: delay/2"* ]]
  [[ "$output" == *"frequency (ppm)"* ]]
  [[ "$output" == *"poll (log2 s)"* ]]
  # offsets: 4 sources + tracking; frequency: 1; poll: 4 sources + tracking
  [ "$(svg_traces "$BATS_TEST_TMPDIR/rec.svg")" -eq 11 ]
  [ ! -e "$BATS_TEST_TMPDIR/rec.svg.tmp" ]
}

@test "timeplot: the recorded stream as PNG through -o's extension, and the README picture is one" {
  run timeplot -s 1000x700 -o "$BATS_TEST_TMPDIR/rec.png" "$REC"
  [ "$status" -eq 0 ]
  read -r w h colours < <(png_info "$BATS_TEST_TMPDIR/rec.png")
  [ "$w" -eq 1000 ] && [ "$h" -eq 700 ] && [ "$colours" -gt 20 ]
  read -r w h colours < <(png_info "$TESTS_DIR/../docs/timeplot-example.png")
  [ "$w" -eq 1000 ] && [ "$h" -eq 700 ] && [ "$colours" -gt 20 ]
  [ "$(stat -c %s "$TESTS_DIR/../docs/timeplot-example.png")" -lt 102400 ]
}

@test "timeplot: JSON lines draw the same as CBOR; two sources, two legend entries" {
  timecat -o json "$REC" > "$BATS_TEST_TMPDIR/rec.jsonl"
  [ "$(timeplot --script "$REC")" = "$(timeplot --script < "$BATS_TEST_TMPDIR/rec.jsonl")" ]
  sources ntp://192.0.2.1:123 roughtime://192.0.2.9:2002 > "$BATS_TEST_TMPDIR/two.jsonl"
  run timeplot -T svg -o "$BATS_TEST_TMPDIR/two.svg" "$BATS_TEST_TMPDIR/two.jsonl"
  [ "$status" -eq 0 ]
  run svg_texts "$BATS_TEST_TMPDIR/two.svg"
  [ "$(grep -cx 'ntp://192.0.2.1:123' <<<"$output")" -eq 1 ]
  [ "$(grep -cx 'roughtime://192.0.2.9:2002' <<<"$output")" -eq 1 ]
  [[ "$output" == *"no tracking or adjust records"* ]]
  [ "$(svg_traces "$BATS_TEST_TMPDIR/two.svg")" -eq 4 ]   # offset and poll of each
}

@test "timeplot: --source, --from and --to choose what is drawn" {
  run --separate-stderr timeplot --script --source 'ntp://192.0.2.3:*' "$REC"
  [ "$status" -eq 0 ]
  [[ "$output" == *"title 'ntp://192.0.2.3:123'"* ]]
  [[ "$output" != *"192.0.2.1"* ]]
  # the first 20 minutes: 22:13:21 to 22:33:20
  run --separate-stderr timeplot --script --from 1700000000 --to 2023-11-14T22:33:20Z "$REC"
  [ "$status" -eq 0 ]
  local first last
  first=$(timecat "$REC" | /usr/bin/python3 -c 'import json,sys; print(min(json.loads(l)["time"] for l in sys.stdin))')
  last=$(timecat "$REC" | /usr/bin/python3 -c 'import json,sys; print(max(t for t in (json.loads(l)["time"] for l in sys.stdin) if t <= 1700001200 * 10**9))')
  [[ "$output" == *"set xrange [${first:0:10}.${first:10}:${last:0:10}.${last:10}]"* ]]
  run --separate-stderr timeplot --from 2030-01-01T00:00:00Z "$REC"
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"no samples, tracking or adjust records (in the span and sources asked)" ]]
}

@test "timeplot: hostile source names and title run nothing and show escaped" {
  local p=$BATS_TEST_TMPDIR/pwned
  # "x' . system(...) . '" is what runs the command when quoting is broken (tried: it does)
  sources "x' . system('touch $p') . '" "x' ; system('touch $p') ; '" "\`touch $p\`" \
    "a\" . system(\"touch $p\") . \"" "nl
set output '|touch $p'" "ntp://192.0.2.1:123" > "$BATS_TEST_TMPDIR/evil.jsonl"
  run timeplot -T svg --title "t' . system('touch $p') . '" -o "$BATS_TEST_TMPDIR/evil.svg" "$BATS_TEST_TMPDIR/evil.jsonl"
  [ ! -e "$p" ]
  [ "$status" -eq 0 ]
  run timeplot -o "$BATS_TEST_TMPDIR/evil.png" "$BATS_TEST_TMPDIR/evil.jsonl"
  [ "$status" -eq 0 ]
  [ ! -e "$p" ]
  run svg_texts "$BATS_TEST_TMPDIR/evil.svg"
  [[ "$output" == *"x%27 %3b system(%27touch "* ]]
  [[ "$output" == *"%60touch "* ]]
  [[ "$output" == *"t%27 . system(%27touch "* ]]
  [[ "$output" == *"x%27 . system(%27touch "* ]]
  [ "$(svg_traces "$BATS_TEST_TMPDIR/evil.svg")" -eq 12 ]
  read -r w h colours < <(png_info "$BATS_TEST_TMPDIR/evil.png")
  [ "$colours" -gt 20 ]
}

@test "timeplot: bad input is one line and EX_DATAERR or EX_NOINPUT" {
  run --separate-stderr timeplot < /dev/null
  [ "$status" -eq 65 ]
  [ "$stderr" = "timeplot: stdin: no samples, tracking or adjust records" ]
  printf 'garbage' > "$BATS_TEST_TMPDIR/bad"
  run --separate-stderr timeplot "$BATS_TEST_TMPDIR/bad"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "timeplot: $BATS_TEST_TMPDIR/bad: byte 0: "* ]]
  # white space before CBOR is not skipped: it is the stream's first byte
  { echo; head -c 2000 "$REC"; } > "$BATS_TEST_TMPDIR/nl.cbor"
  run --separate-stderr timeplot "$BATS_TEST_TMPDIR/nl.cbor"
  [ "$status" -eq 65 ]
  [ "$stderr" = "timeplot: $BATS_TEST_TMPDIR/nl.cbor: byte 0: record is not a map" ]
  printf ' \n\n' > "$BATS_TEST_TMPDIR/blank"
  run --separate-stderr timeplot "$BATS_TEST_TMPDIR/blank"
  [ "$status" -eq 65 ]
  [ "$stderr" = "timeplot: $BATS_TEST_TMPDIR/blank: no samples, tracking or adjust records" ]
  head -c 1000 "$REC" > "$BATS_TEST_TMPDIR/cut.cbor"
  run --separate-stderr timeplot "$BATS_TEST_TMPDIR/cut.cbor"
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"truncated"* ]]
  echo '{"v":1,"type":"sample"' > "$BATS_TEST_TMPDIR/bad.jsonl"
  run --separate-stderr timeplot "$BATS_TEST_TMPDIR/bad.jsonl"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "timeplot: $BATS_TEST_TMPDIR/bad.jsonl: line 1: "* ]]
  run --separate-stderr timeplot "$BATS_TEST_TMPDIR/missing.cbor"
  [ "$status" -eq 66 ]
  [ "$stderr" = "timeplot: $BATS_TEST_TMPDIR/missing.cbor: No such file or directory" ]
  # a stats record only: nothing to draw
  echo '{"v":1,"type":"stats","source":"x","time":1,"counters":{"sent":1}}' > "$BATS_TEST_TMPDIR/stats.jsonl"
  run --separate-stderr timeplot "$BATS_TEST_TMPDIR/stats.jsonl"
  [ "$status" -eq 65 ]
}

@test "timeplot: gnuplot missing is EX_UNAVAILABLE, gnuplot failing EX_SOFTWARE with its first line" {
  local tp
  tp=$(command -v timeplot)
  run --separate-stderr env PATH=/nonexistent "$tp" "$REC"
  [ "$status" -eq 69 ]
  [ "$stderr" = "timeplot: gnuplot not found: apt-get install gnuplot-nox" ]
  mkdir "$BATS_TEST_TMPDIR/fake"
  printf '#!/bin/sh\ncat >/dev/null\necho "         line 3: unknown terminal type" >&2\necho "second line" >&2\nexit 1\n' \
    > "$BATS_TEST_TMPDIR/fake/gnuplot"
  chmod +x "$BATS_TEST_TMPDIR/fake/gnuplot"
  run --separate-stderr env PATH="$BATS_TEST_TMPDIR/fake:$PATH" "$tp" -o "$BATS_TEST_TMPDIR/x.png" "$REC"
  [ "$status" -eq 70 ]
  [ "$stderr" = "timeplot: gnuplot: line 3: unknown terminal type" ]
  [ ! -e "$BATS_TEST_TMPDIR/x.png" ]
  # one that reads nothing and exits 0 without an image
  printf '#!/bin/sh\nexit 0\n' > "$BATS_TEST_TMPDIR/fake/gnuplot"
  run --separate-stderr env PATH="$BATS_TEST_TMPDIR/fake:$PATH" "$tp" "$REC"
  [ "$status" -eq 70 ]
  [ "$stderr" = "timeplot: gnuplot: exited with 0" ]
}

# wait_for CONDITION...: up to 20 s for a command to succeed (no assertion on how long it took).
wait_for() {
  local i
  for i in $(seq 200); do "$@" && return 0; sleep 0.1; done
  return 1
}

@test "timeplot -f redraws its image as the file grows, and exits 0 on SIGTERM" {
  local in=$BATS_TEST_TMPDIR/live.cbor out=$BATS_TEST_TMPDIR/live.png
  sources ntp://192.0.2.1:123 | timecat -i json -o cbor > "$in"
  timeplot -f -i 100ms -o "$out" "$in" 2>"$BATS_TEST_TMPDIR/err" &
  local pid=$!
  track_pid "$pid"
  wait_for test -s "$out"
  local before
  before=$(md5sum < "$out")
  # a second source appears: half a record first (still being written), then the rest
  sources ntp://192.0.2.2:123 | timecat -i json -o cbor > "$BATS_TEST_TMPDIR/more.cbor"
  head -c 100 "$BATS_TEST_TMPDIR/more.cbor" >> "$in"
  sleep 0.5
  tail -c +101 "$BATS_TEST_TMPDIR/more.cbor" >> "$in"
  changed() { [ "$(md5sum < "$out")" != "$before" ]; }
  wait_for changed
  read -r w h colours < <(png_info "$out")
  [ "$w" -eq 1200 ] && [ "$h" -eq 900 ]
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ]
  [ ! -s "$BATS_TEST_TMPDIR/err" ]
  [ ! -e "$out.tmp" ]
}
