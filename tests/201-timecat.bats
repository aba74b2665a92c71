#!/usr/bin/env bats
# timecat: options, each output format, JSON -> CBOR -> JSON round trips, exit codes and the
# one-line messages for bad input. CBOR inputs come from timecat -i json or from python3.
load common

setup() {
  require_cmd timecat
  D=$BATS_TEST_TMPDIR
  cat > "$D/in.jsonl" <<'JSON'
{"v":1,"type":"sample","source":"ntp://127.0.0.1:123","time":1700000000123456789,"offset":-0.000123,"delay":0.00042,"dispersion":0.001,"stratum":2,"leap":0,"refid":"192.0.2.7","poll":6,"reach":255,"jitter":0.0001}
{"v":1,"type":"stats","source":"ntp://127.0.0.1:123","time":1700000000200000000,"counters":{"sent":4,"received":3}}
{"v":1,"type":"sample","source":"ntp://[::1]:123","time":9223372036854775807,"offset":1.5,"delay":0.002,"dispersion":0.0,"stratum":1,"leap":3,"refid":"GPS","poll":-2,"future_key":{"kept":[1,"x",null]}}
JSON
}

hex() { od -An -v -tx1 "$1" | tr -d ' \n'; }

# bytes FILE HEX...: write raw bytes
bytes() {
  local f=$1; shift
  /usr/bin/python3 -c 'import sys; open(sys.argv[1], "wb").write(bytes.fromhex("".join(sys.argv[2:])))' "$f" "$@"
}

@test "timecat --help and -h print usage on stdout and exit 0" {
  run timecat --help
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "usage: timecat "* ]]
  [[ "$output" == *"-i, --input"* && "$output" == *"-o, --output"* && "$output" == *"-n, --count"* ]]
  run timecat -h
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "usage: timecat "* ]]
}

@test "timecat -V prints the version" {
  run timecat --version
  [ "$status" -eq 0 ]
  [[ "$output" == "timecat "* ]]
}

@test "timecat: bad options are one line and EX_USAGE" {
  run timecat -x
  [ "$status" -eq 64 ]
  [ "$output" = "timecat: -x: unknown option (see -h)" ]
  run timecat --bogus
  [ "$status" -eq 64 ]
  [ "$output" = "timecat: --bogus: unknown option (see -h)" ]
  run timecat -o yaml
  [ "$status" -eq 64 ]
  [ "$output" = 'timecat: -o: unknown output format "yaml" (text, json or cbor)' ]
  run timecat -i xml
  [ "$status" -eq 64 ]
  [ "$output" = 'timecat: -i: unknown input format "xml" (cbor or json)' ]
  run timecat -n 0
  [ "$status" -eq 64 ]
  [ "$output" = 'timecat: -n: "0" is not a positive count' ]
  run timecat -n
  [ "$status" -eq 64 ]
  [ "$output" = "timecat: -n: missing value (see -h)" ]
}

@test "timecat: a missing file is EX_NOINPUT" {
  run timecat "$BATS_TEST_TMPDIR/nope.cbor"
  [ "$status" -eq 66 ]
  [ "$output" = "timecat: $BATS_TEST_TMPDIR/nope.cbor: No such file or directory" ]
}

@test "timecat -i json -o cbor writes the exact CBOR bytes" {
  echo '{"v":1,"type":"t"}' > "$D/min.jsonl"
  timecat -i json -o cbor "$D/min.jsonl" > "$D/min.cbor"
  [ "$(hex "$D/min.cbor")" = "a261760164747970656174" ]
  # time is a lossless 64-bit integer: 1b 17979cfe362a0000 for 1.7e18 ns
  echo '{"v":1,"type":"t","time":1700000000000000000,"x":1.5}' | timecat -i json -o cbor > "$D/t.cbor"
  [ "$(hex "$D/t.cbor")" = "a4617601647479706561746474696d651b17979cfe362a00006178fb3ff8000000000000" ]
}

@test "timecat: json -> cbor -> json is the identity" {
  timecat -i json -o cbor "$D/in.jsonl" > "$D/in.cbor"
  run timecat -o json "$D/in.cbor"
  [ "$status" -eq 0 ]
  [ "$output" = "$(cat "$D/in.jsonl")" ]
  # ... and cbor -> cbor too
  timecat -o cbor "$D/in.cbor" > "$D/again.cbor"
  cmp "$D/in.cbor" "$D/again.cbor"
}

@test "timecat: default output off a terminal is JSON lines" {
  timecat -i json -o cbor "$D/in.jsonl" > "$D/in.cbor"
  run timecat "$D/in.cbor"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 3 ]
  [[ "${lines[2]}" == *'"time":9223372036854775807'* ]]
  [[ "${lines[2]}" == *'"future_key":{"kept":[1,"x",null]}'* ]]
}

@test "timecat: python-written CBOR is read, in every integer and float width" {
  # {"v":1,"type":"sample",...} written by hand: 16-bit float offset, 32-bit delay, uint8 stratum
  /usr/bin/python3 - "$D/py.cbor" <<'PY'
import struct, sys
def t(s): b = s.encode(); return bytes([0x60 + len(b)]) + b
rec = bytes([0xa9]) + t("v") + b"\x01" + t("type") + t("sample") + t("source") + t("ntp://127.0.0.1:123") \
    + t("time") + b"\x1b" + struct.pack(">Q", 1700000000123456789) \
    + t("offset") + b"\xf9\x3c\x00" + t("delay") + b"\xfa" + struct.pack(">f", 0.5) \
    + t("dispersion") + b"\xfb" + struct.pack(">d", 0.25) \
    + t("stratum") + b"\x18\x10" + t("refid") + t("INIT")
rec2 = bytes([0xa2]) + t("v") + b"\x01" + t("type") + t("x")
open(sys.argv[1], "wb").write(rec + rec2)
PY
  run timecat -o json "$D/py.cbor"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = '{"v":1,"type":"sample","source":"ntp://127.0.0.1:123","time":1700000000123456789,"offset":1.0,"delay":0.5,"dispersion":0.25,"stratum":16,"refid":"INIT"}' ]
  [ "${lines[1]}" = '{"v":1,"type":"x"}' ]
}

@test "timecat -o text shows an ntpq -p style table" {
  timecat -i json -o cbor "$D/in.jsonl" > "$D/in.cbor"
  run timecat -o text "$D/in.cbor"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == *remote*refid*st*when*poll*reach*delay*offset*+/-*jitter* ]]
  [[ "${lines[1]}" == ====* ]]
  # ntp-query's columns: a tally column first, blank here; the default port is not shown
  [[ "${lines[2]}" == " 127.0.0.1 "* ]]
  # delay, offset, +/- and jitter in chronyc's units, reach in octal
  read -r remote refid st when poll reach delay offset error jitter <<< "${lines[2]}"
  [ "$remote" = "127.0.0.1" ] && [ "$refid" = "192.0.2.7" ] && [ "$st" = 2 ]
  [ "$poll" = 64 ] && [ "$reach" = 377 ]
  [ "$delay" = 420us ] && [ "$offset" = -123us ] && [ "$error" = 1210us ] && [ "$jitter" = 100us ]
  [ "${lines[3]}" = 'stats source=ntp://127.0.0.1:123 time=1700000000200000000 counters={"sent":4,"received":3}' ]
  read -r remote refid st when poll reach delay offset error jitter <<< "${lines[4]}"
  [ "$remote" = "::1" ] && [ "$refid" = ".GPS." ] && [ "$poll" = 1/4 ] && [ "$reach" = - ]
  [ "$when" = - ]   # its time is in the future
  [ "$offset" = +1500ms ]
  # a key the table has no column for, on a line of its own
  [ "${lines[5]}" = '    future_key={"kept":[1,"x",null]}' ]
  [ "${#lines[@]}" -eq 6 ]
}

@test "timecat -n COUNT stops after COUNT records, across files" {
  timecat -i json -o cbor "$D/in.jsonl" > "$D/in.cbor"
  run timecat -o json -n 2 "$D/in.cbor"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  run timecat -o json -n 4 "$D/in.cbor" "$D/in.cbor"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 4 ]
  run timecat -o json "$D/in.cbor" - "$D/in.cbor" < "$D/in.cbor"
  [ "${#lines[@]}" -eq 9 ]
}

@test "timecat reads a pipe as records arrive (-n 1 does not wait for the end)" {
  timecat -i json -o cbor "$D/in.jsonl" > "$D/in.cbor"
  mkfifo "$D/fifo"
  (cat "$D/in.cbor"; exec sleep 60) > "$D/fifo" &
  track_pid $!
  run timeout 20 timecat -o json -n 1 "$D/fifo"
  [ "$status" -eq 0 ]
  [[ "$output" == '{"v":1,"type":"sample",'* ]]
}

@test "timecat: truncated CBOR names the record's byte offset; records before it are written" {
  timecat -i json -o cbor "$D/in.jsonl" > "$D/in.cbor"
  size=$(stat -c %s "$D/in.cbor")
  head -c $((size - 3)) "$D/in.cbor" > "$D/cut.cbor"
  third=$(head -n 2 "$D/in.jsonl" | timecat -i json -o cbor | wc -c)
  run timecat -o json "$D/cut.cbor"
  [ "$status" -eq 65 ]
  [ "${#lines[@]}" -eq 3 ]
  [[ "${lines[1]}" == '{"v":1,"type":"stats"'* ]]
  [ "${lines[2]}" = "timecat: $D/cut.cbor: byte $third: truncated record" ]
  # also from stdin, and what came before the error still flows down a pipe
  run bash -c "timecat -o cbor < '$D/cut.cbor' 2> '$D/err' | timecat -o json"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 2 ]
  [ "$(cat "$D/err")" = "timecat: stdin: byte $third: truncated record" ]
}

@test "timecat: a top-level item that is not a map" {
  bytes "$D/a.cbor" a2617601647479706561 74 83010203
  run timecat -o json "$D/a.cbor"
  [ "$status" -eq 65 ]
  [ "${lines[0]}" = '{"v":1,"type":"t"}' ]
  [ "${lines[1]}" = "timecat: $D/a.cbor: byte 11: record is not a map" ]
}

@test "timecat: stream version 2 is refused with a clear message" {
  bytes "$D/v2.cbor" a2617602647479706561 74
  run timecat "$D/v2.cbor"
  [ "$status" -eq 65 ]
  [ "$output" = "timecat: $D/v2.cbor: byte 0: unsupported stream version 2" ]
  echo '{"v":2,"type":"t"}' > "$D/v2.jsonl"
  run timecat -i json "$D/v2.jsonl"
  [ "$status" -eq 65 ]
  [ "$output" = "timecat: $D/v2.jsonl: line 1: unsupported stream version 2" ]
}

@test "timecat: malformed CBOR inside a record names the item's byte" {
  # {"v":1,"type":"t","x": <reserved initial byte 0x1c>}
  bytes "$D/m.cbor" a3617601647479706561746178 1c
  run timecat "$D/m.cbor"
  [ "$status" -eq 65 ]
  [ "$output" = "timecat: $D/m.cbor: byte 13: reserved additional information in initial byte 0x1c" ]
  bytes "$D/k.cbor" a2 01 02
  run timecat "$D/k.cbor"
  [ "$status" -eq 65 ]
  [ "$output" = "timecat: $D/k.cbor: byte 1: map key is not a text string" ]
}

@test "timecat -i json: bad JSON names the line; earlier records are written" {
  printf '{"v":1,"type":"a"}\n\n{"v":1,"type":\n' > "$D/bad.jsonl"
  run timecat -i json -o json "$D/bad.jsonl"
  [ "$status" -eq 65 ]
  [ "${lines[0]}" = '{"v":1,"type":"a"}' ]
  [[ "${lines[1]}" == "timecat: $D/bad.jsonl: line 3: column "*"syntax error"* ]]
  [ "${#lines[@]}" -eq 2 ]
  echo '{"type":"a"}' > "$D/nov.jsonl"
  run timecat -i json "$D/nov.jsonl"
  [ "$status" -eq 65 ]
  [ "$output" = "timecat: $D/nov.jsonl: line 1: missing \"v\"" ]
}

@test "timecat: an empty input is not an error" {
  : > "$D/empty"
  run timecat "$D/empty"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  run timecat -i json "$D/empty"
  [ "$status" -eq 0 ]
}
