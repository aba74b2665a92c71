#!/usr/bin/env bats
# The Prometheus exposition of libtime/observe/metrics (what time-metrics serves), checked by the
# real promtool (Debian's prometheus 2.42, from the peer cache): a snapshot of every kind with
# hostile source names (quotes, backslashes, newlines, UTF-8), every metric family, a down socket.
# The unit test ObserveMetrics.RichExposition writes it to $TIMEPIPE_EXPOSITION_OUT.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd promtool
  [ -x "$TIMEPIPE_BUILD/unit-tests" ] || { echo "missing $TIMEPIPE_BUILD/unit-tests: make unit" >&2; return 1; }
  OUT=$BATS_TEST_TMPDIR/metrics.txt
}

rich_exposition() {
  TIMEPIPE_EXPOSITION_OUT=$OUT "$TIMEPIPE_BUILD/unit-tests" --gtest_filter=ObserveMetrics.RichExposition >/dev/null
  [ -s "$OUT" ] || { echo "the unit test wrote no exposition to $OUT" >&2; return 1; }
}

@test "promtool check metrics: the exposition parses and passes the lint, no warnings" {
  rich_exposition
  run --separate-stderr promtool check metrics < "$OUT"
  echo "$output" "$stderr"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  [ -z "$stderr" ]
  # What it covers: hostile names escaped, a down socket, counters and gauges.
  grep -qF 'source="ntp://\"quoted\"\\back\nslash:123"' "$OUT"
  grep -qF 'source="gps://Zürich/ℹ/😀"' "$OUT"
  grep -qF 'timepipe_up{tool="pps-capture",socket="/run/timepipe/pps/status.sock"} 0' "$OUT"
  grep -qx '# TYPE timepipe_ntp_server_requests_total counter' "$OUT"
  grep -qx '# TYPE timepipe_stats_total counter' "$OUT"
  [ "$(grep -c '^# TYPE ' "$OUT")" -ge 60 ]
}

@test "the exposition: each family's samples together, no series twice (promtool does not check these)" {
  rich_exposition
  run /usr/bin/python3 - "$OUT" <<'PY'
import re, sys
families, current, seen = set(), None, set()
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    line = line.rstrip("\n")
    m = re.match(r"# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ", line)
    if m:
        if m.group(1) == "HELP":
            if m.group(2) in families: sys.exit(f"line {n}: family {m.group(2)} again")
            families.add(m.group(2)); current = m.group(2)
        continue
    m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (\S+)$', line)
    if not m: sys.exit(f"line {n}: not a sample: {line!r}")
    if m.group(1) != current: sys.exit(f"line {n}: {m.group(1)} outside its family {current}")
    if line.rsplit(" ", 1)[0] in seen: sys.exit(f"line {n}: series twice")
    seen.add(line.rsplit(" ", 1)[0])
print(len(families), len(seen))
PY
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "promtool check metrics fails what it should (so the checks above can fail)" {
  printf '# HELP a_total x\n# TYPE a_total counter\na_total{x="a\nb"} 1\n' > "$OUT"
  run promtool check metrics < "$OUT"
  [ "$status" -ne 0 ]
  printf '# HELP timepipe_requests x\n# TYPE timepipe_requests counter\ntimepipe_requests 1\n' > "$OUT"
  run promtool check metrics < "$OUT"
  [ "$status" -ne 0 ]
  [[ "$output" == *'should have "_total" suffix'* ]]
}
