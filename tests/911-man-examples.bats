#!/usr/bin/env bats
# Every EXAMPLES command of every man page, run as a reader pastes it from the rendered page,
# against servers on loopback (tests/man-examples says what it substitutes and checks), and
# proof that the runner fails an example that does not run or does not print what it shows.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd mandoc
  require_cmd col
  for t in ntp-query ntp-serve nts-ke timecat roughtime-query roughtime-serve discipline clocksim clockadj hwts-probe pps-capture gps-reader shm-export shm-import webntp-query webntp-serve timeplot time-metrics timepipe-status; do require_cmd "$t"; done
}

examples() {  # examples PAGE: run its examples; every one must pass
  run tests/man-examples "$BATS_TEST_TMPDIR" "man/$1"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *": ok: "* ]]            # the page has examples, and they ran
  [[ "$output" != *"FAILED"* ]]
}

@test "clockadj(8) EXAMPLES run" { examples clockadj.8; }
@test "clocksim(1) EXAMPLES run" { examples clocksim.1; }
@test "discipline(1) EXAMPLES run" { examples discipline.1; }
@test "gps-reader(1) EXAMPLES run" { examples gps-reader.1; }
@test "hwts-probe(1) EXAMPLES run" { examples hwts-probe.1; }
@test "ntp-query(1) EXAMPLES run" { examples ntp-query.1; }
@test "ntp-serve(8) EXAMPLES run" { examples ntp-serve.8; }
@test "nts-ke(8) EXAMPLES run" { examples nts-ke.8; }
@test "pps-capture(1) EXAMPLES run" { examples pps-capture.1; }
@test "roughtime-query(1) EXAMPLES run" { examples roughtime-query.1; }
@test "roughtime-serve(8) EXAMPLES run" { examples roughtime-serve.8; }
@test "shm-export(1) EXAMPLES run" { examples shm-export.1; }
@test "shm-import(1) EXAMPLES run" { examples shm-import.1; }
@test "time-stream(5) EXAMPLES run" { examples time-stream.5; }
@test "timecat(1) EXAMPLES run" { examples timecat.1; }
@test "timepipe(7) EXAMPLES run" { examples timepipe.7; }
@test "timeplot(1) EXAMPLES run" { examples timeplot.1; }
@test "webntp-query(1) EXAMPLES run" { examples webntp-query.1; }
@test "webntp-serve(8) EXAMPLES run" { examples webntp-serve.8; }
@test "time-metrics(8) EXAMPLES run" { examples time-metrics.8; }
@test "timepipe-status(1) EXAMPLES run" { examples timepipe-status.1; }

@test "the runner fails examples that break when pasted or print what the page does not show" {
  cat > "$BATS_TEST_TMPDIR/bad.1" <<'PAGE'
.Dd December 4, 2026
.Dt BAD 1
.Os
.Sh NAME
.Nm bad
.Nd examples that do not work
.Sh SYNOPSIS
.Nm
.Sh EXAMPLES
A wrapped command:
.Dl $ ntp-serve -s 2 -w 4 --stats-interval 60 -o json >> /var/log/ntp-serve-with-a-long-name.json
.Pp
A backslash inside single quotes:
.Bd -literal -offset indent
$ echo '{"v":1,"type":"stats",\e
"time":1}' | timecat -i json -o cbor > stats.cbor
.Ed
.Pp
Output it does not print:
.Bd -literal -offset indent
$ echo '{"v":1,"type":"t"}' | timecat -i json -o cbor | od -An -tx1
 a2 61 76 01 64 74 79 70 65 61 75
.Ed
.Pp
A table with a row too many:
.Bd -literal -offset indent
$ ntp-query -o cbor --follow 192.0.2.1 | timecat
      remote                 refid      st when poll reach    delay   offset  jitter
====================================================================================
 192.0.2.1:123          .GPS.            1    0   64     1    0.420   -0.123       -
 192.0.2.1:123          .GPS.            1    0   64     1    0.420   -0.123       -
.Ed
.Pp
A server that does not serve what it says:
.Dl # ntp-serve --stratum 10 --deny all
.Pp
A host the runner does not know:
.Dl $ ntp-query ntp.example.com
.Pp
An NTS-KE server given its certificate as its key:
.Dl # nts-ke --serve --cert /etc/timepipe/nts.crt --key /etc/timepipe/nts.crt --keys nts-keys &
PAGE
  run tests/man-examples "$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR/bad.1"
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$(grep -c ': ok: ' <<< "$output")" -eq 0 ]
  [ "$(grep -c ': FAILED: ' <<< "$output")" -eq 7 ]
  [[ "$output" == *"FAILED: ntp-serve -s 2 -w 4 --stats-interval 60 -o json >>"* ]]
  [[ "$output" == *"timecat: stdin: line 1: "* ]]
  [[ "$output" == *"not as the page shows"*"61 75"* ]]
  [[ "$output" == *"ntp-query 127.0.0.1:"*": 76 ntp-query: 127.0.0.1:"*"kiss-o'-death DENY"* ]]
  [[ "$output" == *"ntp-query: ntp.example.com: "* ]]
  [[ "$output" == *"FAILED: nts-ke --serve"*"nts-ke 127.0.0.1:"* ]]
}
