#!/usr/bin/env bats
# timecat -o text, what people read: a golden table (hand-written JSON lines -> CBOR -> text)
# in chronyc's units with the +/- column, 79 columns, the Roughtime table with radius and
# verified, and hostile streams whose control characters must come out escaped.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd timecat
  D=$BATS_TEST_TMPDIR
}

# no_raw_controls FILE: fails naming the first byte a terminal would act on (C0 but newline,
# DEL, C1 as UTF-8, bidirectional overrides) or that is not UTF-8.
no_raw_controls() {
  /usr/bin/python3 - "$1" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
text = data.decode("utf-8")  # raises on anything that is not UTF-8
bad = re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069]", text)
if bad:
    sys.exit("raw control character %r at %d" % (bad.group(), bad.start()))
PY
}

@test "timecat -o text: golden table for LAN, WAN, a year off, negative and zero offsets, Roughtime" {
  # Times in the future, so that `when` is "-" whenever the test runs.
  cat > "$D/in.jsonl" <<'JSON'
{"v":1,"type":"sample","source":"ntp://192.168.1.10:123","time":9000000000000000000,"offset":-0.0000312,"delay":0.000213,"dispersion":0.0000305,"stratum":2,"leap":0,"refid":"192.168.1.1","poll":6,"root_delay":0.000412,"root_dispersion":0.000122,"jitter":0.0000124,"reach":255}
{"v":1,"type":"sample","source":"ntp://162.159.200.123:123","time":9000000000000000000,"offset":0.00342,"delay":0.02371,"dispersion":0.00095,"stratum":3,"leap":0,"refid":"10.20.30.40","poll":10,"root_delay":0.0152,"root_dispersion":0.0201,"reach":1}
{"v":1,"type":"sample","source":"ntp://[2001:db8::7]:123","time":9000000000000000000,"offset":31557600,"delay":0.0451,"dispersion":0.001,"stratum":1,"leap":0,"refid":"GPS","poll":4}
{"v":1,"type":"sample","source":"ntp://127.0.0.1:11123","time":9000000000000000000,"offset":-12.75,"delay":0.000042,"dispersion":0,"stratum":16,"leap":3,"refid":"INIT","poll":-3}
{"v":1,"type":"sample","source":"ntp://10.0.0.1:123","time":9000000000000000000,"offset":0,"delay":0,"dispersion":0,"stratum":2,"leap":0,"refid":"10.0.0.254","poll":0}
{"v":1,"type":"sample","source":"ntp://10.0.0.2:123","time":9000000000000000000,"offset":-0.0000000003,"delay":0.0000000004,"dispersion":0,"stratum":2,"leap":0,"refid":"10.0.0.254","poll":0}
{"v":1,"type":"stats","source":"ntp://10.0.0.1:123","time":9000000000000000000,"counters":{"sent":4,"received":4}}
{"v":1,"type":"sample","source":"roughtime://192.0.2.1:2002","time":9000000000000000000,"offset":-0.0023,"delay":0.00042,"dispersion":1,"stratum":1,"leap":0,"refid":"ROUG","poll":0,"root_delay":0.00042,"root_dispersion":1,"roughtime_version":"rfc","verified":true}
{"v":1,"type":"sample","source":"roughtime://roughtime.example.org:2002","time":9000000000000000000,"offset":86400.25,"delay":0.0812,"dispersion":10,"stratum":1,"leap":0,"refid":"ROUG","poll":0,"root_delay":0.0812,"root_dispersion":10,"roughtime_version":"draft-12","verified":false,"conflict":true}
{"v":1,"type":"sample","source":"ntp://10.0.0.3:123","time":9000000000000000000,"offset":0.5,"delay":0.001,"dispersion":0,"stratum":2,"leap":0,"refid":"10.0.0.254","poll":6}
JSON
  cat > "$D/want.txt" <<'TEXT'
     remote          refid      st when poll reach  delay  offset    +/- jitter
===============================================================================
 192.168.1.10    192.168.1.1     2    -   64   377  213us   -31us  465us   12us
 162.159.200.123 10.20.30.40     3    - 1024     1   24ms +3420us   41ms      -
 2001:db8::7     .GPS.           1    -   16     -   45ms   +365d   24ms      -
 127.0.0.1:11123 .INIT.         16    -  1/8     -   42us  -12.8s   21us      -
 10.0.0.1        10.0.0.254      2    -    1     -    0ns     0ns    0ns      -
 10.0.0.2        10.0.0.254      2    -    1     -    0ns     0ns    0ns      -
stats source=ntp://10.0.0.1:123 time=9000000000000000000 counters={"sent":4,"received":4}
          server            version  verified when    rtt  offset    +/- radius
===============================================================================
 192.0.2.1:2002             rfc      yes         -  420us -2300us 1000ms 1000ms
 roughtime.example.org:2002 draft-12 no          -   81ms +86400s  10.0s  10.0s
    conflict=true
     remote          refid      st when poll reach  delay  offset    +/- jitter
===============================================================================
 10.0.0.3        10.0.0.254      2    -   64     - 1000us  +500ms  500us      -
TEXT
  timecat -i json -o cbor "$D/in.jsonl" > "$D/in.cbor"
  timecat -o text "$D/in.cbor" > "$D/got.txt"
  diff -u "$D/want.txt" "$D/got.txt"
  # Every table line fits 79 columns; nothing reads "-0".
  ! grep -v '^stats ' "$D/got.txt" | grep -q '.\{80\}'
  ! grep -q -- '-0[^.]' "$D/got.txt"
  # JSON lines in stay the same records out (0 comes back as 0.0: a float key).
  timecat -o json "$D/in.cbor" > "$D/out.jsonl"
  /usr/bin/python3 - "$D/in.jsonl" "$D/out.jsonl" <<'PY'
import json, sys
want, got = ([json.loads(l) for l in open(f)] for f in sys.argv[1:])
assert got == want, (got, want)
PY
}

@test "timecat -o text: roughtime-query's records, and whatever keys it adds, in 79 columns" {
  # As roughtime-query writes them, plus a key timecat does not know.
  cat > "$D/rt.jsonl" <<'JSON'
{"v":1,"type":"sample","source":"roughtime://[2001:db8:4::1]:2002","time":9000000000000000000,"offset":0.0000042,"delay":0.000131,"dispersion":5,"stratum":1,"leap":0,"refid":"ROUG","poll":0,"root_delay":0.000131,"root_dispersion":5,"roughtime_version":"google","verified":true,"chain_index":2}
JSON
  run timecat -i json -o text "$D/rt.jsonl"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 4 ]
  read -r server version verified when rtt offset error radius <<< "${lines[2]}"
  [ "$server" = "[2001:db8:4::1]:2002" ] && [ "$version" = google ] && [ "$verified" = yes ]
  [ "$rtt" = 131us ] && [ "$offset" = +4200ns ] && [ "$error" = 5000ms ] && [ "$radius" = 5000ms ]
  [ "${lines[3]}" = "    chain_index=2" ]
  [ "${#lines[2]}" -le 79 ] && [ "${#lines[0]}" -le 79 ]
}

@test "timecat: control characters from a hostile stream are shown escaped, never written raw" {
  # ESC sequences (clear screen, set title, colours), CR, BS, BEL, DEL, C1 CSI, a right-to-left
  # override: in the source, refid, kiss code, record type, unknown keys and values, nested.
  cat > "$D/evil.jsonl" <<'JSON'
{"v":1,"type":"sample","source":"ntp://\u001b[2J\u001b[H:123","time":9000000000000000000,"offset":0.001,"delay":0.002,"dispersion":0,"stratum":1,"leap":0,"refid":"\u001b[5m","poll":6,"kod":"\r\b\b\b","note\u001b]0;pwned\u0007":"\u009b31mred\u007f"}
{"v":1,"type":"sample","source":"ntp://127.0.0.1:123","time":9000000000000000000,"offset":0.001,"delay":0.002,"dispersion":0,"stratum":2,"leap":0,"refid":"\r\u202egnp.exe","poll":6}
{"v":1,"type":"evil\u001b[31m","list":["\u001b",{"\u0007":"\r"}],"bare":"a\bb"}
{"v":1,"type":"stats","source":"\u001bP+q\u001b\\","time":1,"counters":{"\u001b[1m":1}}
{"v":1,"type":"sample","source":"roughtime://\u009b2J:2002","time":9000000000000000000,"offset":0.001,"delay":0.002,"dispersion":1,"stratum":1,"leap":0,"refid":"ROUG","poll":0,"roughtime_version":"\u001b[8m","verified":"\u0008yes","conflict":"\u001b"}
{"v":1,"type":"sample","source":"ntp://127.0.0.1:123","time":9000000000000000000,"offset":1e400,"delay":0.002,"dispersion":0,"stratum":2,"leap":0,"refid":"x","poll":6}
JSON
  # (the last line is bad input: the records before it must be out, and no raw byte after)
  head -n 5 "$D/evil.jsonl" | timecat -i json -o cbor > "$D/evil.cbor"
  timecat -o text "$D/evil.cbor" > "$D/out.txt"
  cat "$D/out.txt"
  no_raw_controls "$D/out.txt"
  grep -qF ' \x1b[2J\x1b[H ' "$D/out.txt"                   # the remote, escaped in place
  grep -qF '.\x1b[5m.' "$D/out.txt"                          # a dotted stratum 1 refid
  grep -qF '\x0d\u202egnp.exe' "$D/out.txt"
  grep -qF '"note\x1b]0;pwned\x07"="\u009b31mred\x7f"' "$D/out.txt"
  grep -qF 'evil\x1b[31m list=["\x1b",{"\x07":"\x0d"}] bare="a\x08b"' "$D/out.txt"
  grep -qF 'stats source="\x1bP+q\x1b\\" time=1 counters={"\x1b[1m":1}' "$D/out.txt"
  # a Roughtime row (or, since verified is a boolean in time-stream(5) and this one is not, the
  # generic line): its source escaped either way
  grep -qF '\u009b2J:2002' "$D/out.txt"
  grep -qF '\x1b[8m' "$D/out.txt" && grep -qF '"\x08yes"' "$D/out.txt" && grep -qF 'conflict="\x1b"' "$D/out.txt"
  # The same from JSON lines directly, and when the input goes bad halfway.
  run timecat -i json -o text "$D/evil.jsonl"
  [ "$status" -eq 65 ]
  printf '%s\n' "$output" > "$D/out2.txt"
  no_raw_controls "$D/out2.txt"
  # JSON output: the JSON encoder escapes C0 controls; the values are kept exactly.
  timecat -o json "$D/evil.cbor" > "$D/out.json"
  ! LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f]' "$D/out.json"
  /usr/bin/python3 - "$D/evil.jsonl" "$D/out.json" <<'PY'
import json, sys
want = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8").read().splitlines()[:5]]
got = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8").read().splitlines()]
assert got == want, (got, want)
PY
}

@test "timecat: input that is not UTF-8 is refused, and the message shows no raw byte" {
  printf '{"v":1,"type":"t"}\n{"v":1,"type":"t","x":"a\377\033[2Jb"}\n' > "$D/bad.jsonl"
  run --separate-stderr timecat -i json -o text "$D/bad.jsonl"
  [ "$status" -eq 65 ]
  [ "$output" = "t" ]
  printf '%s\n' "$stderr" > "$D/err"
  no_raw_controls "$D/err"
  [[ "$stderr" == "timecat: $D/bad.jsonl: line 2: "*'\xff'* ]]
  # CBOR: a text string "x" -> ff fe
  /usr/bin/python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex("a3617601647479706561746178" "62fffe"))' > "$D/bad.cbor"
  run --separate-stderr timecat -o text "$D/bad.cbor"
  [ "$status" -eq 65 ]
  [ "$stderr" = "timecat: $D/bad.cbor: byte 13: invalid UTF-8 in text string" ]
}
