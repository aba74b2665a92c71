#!/usr/bin/env bats
# The man pages as a reader sees them: tests/man-render-check on every page, and proof that the
# check catches each defect it is there for (the pages once had every one of them).
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd mandoc
  require_cmd col
}

# page NAME BODY: a small mdoc page in $BATS_TEST_TMPDIR/NAME.1 with BODY after its SYNOPSIS.
page() {
  cat > "$BATS_TEST_TMPDIR/$1.1" <<EOF
.Dd December 4, 2026
.Dt ${1^^} 1
.Os
.Sh NAME
.Nm $1
.Nd a page to check the checker
.Sh SYNOPSIS
.Nm
.Op Fl f
.Op Fl Fl minpoll Ar N
.Sh DESCRIPTION
$2
EOF
}

@test "every page in man/ lints clean and renders right" {
  run tests/man-render-check man/*.[1-8]
  echo "$output"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "a clean page passes" {
  page clean $'.Nm\nis quiet.\n.Bl -tag -width Ds\n.It Fl Fl maxpoll Ar N\nAt most\n.Pq default 10 , or Fl Fl minpoll No if that is larger .\n.El'
  run tests/man-render-check "$BATS_TEST_TMPDIR/clean.1"
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "a macro that turns words into flags is caught (ntp-query --maxpoll, ntp-serve -u)" {
  page flags $'The poll\n.Pq default 10 , or Fl Fl minpoll if that is larger .\nRead\n.Pq Fl : standard input .'
  run tests/man-render-check "$BATS_TEST_TMPDIR/flags.1"
  echo "$output"
  [ "$status" -eq 1 ]
  for w in -if -that -is -larger -standard -input; do
    [[ "$output" == *"flag: $w shown as an option"* ]]
  done
  [[ "$output" != *"flag: --minpoll"* ]]   # documented in the SYNOPSIS
}

@test "another program's options after its name are no defect, anywhere else they are" {
  page foreign $'Like\n.Ic ntpq -p .\n.Sh EXAMPLES\n.Dl $ od -An -tx1 file\n.Dl $ cat -An file'
  run tests/man-render-check "$BATS_TEST_TMPDIR/foreign.1"
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$(grep -c 'flag:' <<< "$output")" -eq 1 ]
  [[ "$output" == *"flag: -An shown as an option: \$ cat -An file"* ]]
}

@test "quotes mdoc eats are caught (time-stream.5, roughtime-query.1)" {
  page quotes $'The smallest record,\n.Li {"v": 1, "type": "t"} ,\nis small.\n.Sh EXAMPLES\n.Dl $ q host "$KEY" | timecat'
  run tests/man-render-check "$BATS_TEST_TMPDIR/quotes.1"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *'quote: a quoted argument runs into text: .Li {"v": 1, "type": "t"} ,'* ]]
  [[ "$output" == *'quote: a one-line display lost its quotes: .Dl $ q host "$KEY" | timecat'* ]]
}

@test "a one-line display that wraps is caught (ntp-serve.8, roughtime-query.1)" {
  page wrap $'.Sh EXAMPLES\nCounters:\n.Dl # ntp-serve -s 2 -w 4 --stats-interval 60 -o json >> /var/log/ntp-serve.json'
  run tests/man-render-check "$BATS_TEST_TMPDIR/wrap.1"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"wrap: a one-line display is broken over lines: # ntp-serve -s 2 -w 4"* ]]
}

@test "a command past 78 columns is caught, wide program output is not" {
  page wide $'.Sh EXAMPLES\n.Bd -literal -offset indent\n# ntp-query --follow time.example.org | \\e\n    roughtime-serve -k /etc/timepipe/roughtime-serve.key --upstream -\n$ timecat x\n      remote                 refid      st when poll reach    delay   offset  jitter\n.Ed'
  run tests/man-render-check "$BATS_TEST_TMPDIR/wide.1"
  echo "$output"
  [ "$status" -eq 1 ]
  [ "$(grep -c 'wide:' <<< "$output")" -eq 1 ]
  [[ "$output" == *"wide: 80 columns: roughtime-serve -k"* ]]
}

@test "a lint warning fails the page" {
  page lint $'.Sh DESCRIPTION\nTwice.'
  run tests/man-render-check "$BATS_TEST_TMPDIR/lint.1"
  echo "$output"
  [ "$status" -eq 1 ]
  [[ "$output" == *"lint: "* ]]
}
