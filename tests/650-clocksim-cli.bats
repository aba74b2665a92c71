#!/usr/bin/env bats
# clocksim: options, scenario files and their errors, and the simulator proven with fake
# disciplines (an empty adjust for every sample: the offset then grows exactly as the frequency
# error predicts), children that die, answer garbage or nothing, and --record replayed by timecat.
load common

setup() {
  require_cmd clocksim
  require_cmd timecat
  D=$BATS_TEST_TMPDIR
  # A discipline that answers every sample with an empty adjust (and reads its input to the end).
  for i in $(seq 1 1200); do echo '{"v":1,"type":"adjust","source":"local","time":0}'; done |
    timecat -i json -o cbor > "$D/empty.cbor"
  printf '#!/bin/sh\ncat "%s"\nexec cat >/dev/null\n' "$D/empty.cbor" > "$D/empty"
  chmod +x "$D/empty"
  SC=$BATS_TEST_DIRNAME/data/scenarios
}

# field JSON KEY: one figure of clocksim -o json
field() { /usr/bin/python3 -c 'import json,sys; v=json.loads(sys.argv[1])[sys.argv[2]]; print("null" if v is None else repr(v))' "$1" "$2"; }
# near A B TOL
near() { /usr/bin/python3 -c 'import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=t else 1)' "$1" "$2" "$3"; }

@test "clocksim --help, -h and -V" {
  run clocksim --help
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "usage: clocksim "* ]]
  [[ "$output" == *"--scenario"* && "$output" == *"--discipline"* && "$output" == *"roughtime-offset"* ]]
  run clocksim -V
  [ "$status" -eq 0 ]
  [[ "$output" == "clocksim "* ]]
}

@test "clocksim: unknown option, bad values and stray arguments are usage errors" {
  run clocksim --bogus
  [ "$status" -eq 64 ]
  [[ "$output" == "clocksim: --bogus: unknown option (see -h)" ]]
  run clocksim --discipline "$D/empty" --wander x
  [ "$status" -eq 64 ]
  [[ "$output" == 'clocksim: --wander: "wander": bad number "x"' ]]
  run clocksim --discipline "$D/empty" --outage 5
  [ "$status" -eq 64 ]
  [[ "$output" == 'clocksim: --outage: "outage": takes 2 values' ]]
  run clocksim --discipline "$D/empty" --minpoll 8 --maxpoll 6
  [ "$status" -eq 64 ]
  [[ "$output" == "clocksim: scenario: minpoll 8 is above maxpoll 6" ]]
  run clocksim -o cbor
  [ "$status" -eq 64 ]
  run clocksim stray
  [ "$status" -eq 64 ]
  [[ "$output" == "clocksim: stray: unexpected argument (see -h)" ]]
}

@test "clocksim: a scenario error names the file and line; a missing file is EX_NOINPUT" {
  printf 'seed 1\n# fine\nservers many\n' > "$D/bad.scenario"
  run clocksim --discipline "$D/empty" --scenario "$D/bad.scenario"
  [ "$status" -eq 65 ]
  [[ "$output" == "clocksim: $D/bad.scenario: line 3: \"servers\": \"many\" is not an integer from 1 to 64" ]]
  run clocksim --discipline "$D/empty" --scenario "$D/nonexistent"
  [ "$status" -eq 66 ]
  [[ "$output" == "clocksim: $D/nonexistent: "* ]]
}

@test "clocksim: with an empty adjust for every sample the offset grows exactly as the frequency error says" {
  run clocksim --discipline "$D/empty" --offset 0.001 --freq 1e-6 --duration 1000 --minpoll 6 --maxpoll 6 -o json
  [ "$status" -eq 0 ]
  near "$(field "$output" late_max)" 0.002 1e-9
  near "$(field "$output" freq_rms)" 1 1e-6
  [ "$(field "$output" settled_1ms)" = null ]
  [ "$(field "$output" requests)" = 16 ]
  [ "$(field "$output" samples)" = 16 ]
  [ "$(field "$output" steps)" = 0 ]
  # negative frequency error: the offset runs down through zero to -1 ms
  run clocksim --discipline "$D/empty" --offset 0.001 --freq -2e-6 --duration 1000 -o json
  [ "$status" -eq 0 ]
  near "$(field "$output" late_max)" 0.001 1e-9
}

@test "clocksim: the scenario file is read and options override it" {
  run clocksim --discipline "$D/empty" --scenario "$SC/chrony-default.scenario" --duration 100 -o json
  [ "$status" -eq 0 ]
  near "$(field "$output" max_offset)" 0.11 1e-5
  run clocksim --discipline "$D/empty" --scenario "$SC/chrony-default.scenario" --duration 100 --offset -0.5 --freq 0 --wander 0 -o json
  [ "$status" -eq 0 ]
  near "$(field "$output" late_max)" 0.5 1e-12
}

@test "clocksim: text output for a user" {
  run clocksim --discipline "$D/empty" --offset 0.0001 --duration 200
  [ "$status" -eq 0 ]
  [[ "$output" == *"offset, second half:  RMS 100.0 us, max 100.0 us"* ]]
  [[ "$output" == *"settled below 1 ms:   0 s"* ]]
  [[ "$output" == *"settled below 100 us: never"* ]]
  [[ "$output" == *"verdict: the clock was kept within 1 ms"* ]]
}

@test "clocksim --record writes the samples as ntp-query would; timecat reads them; a rerun is byte-identical" {
  run clocksim --discipline "$D/empty" --servers 2 --duration 300 --record "$D/a.cbor" -o json
  [ "$status" -eq 0 ]
  run clocksim --discipline "$D/empty" --servers 2 --duration 300 --record "$D/b.cbor" -o json
  cmp "$D/a.cbor" "$D/b.cbor"
  run timecat -o json "$D/a.cbor"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 10 ]
  [[ "${lines[0]}" == '{"v":1,"type":"sample","source":"ntp://192.0.2.1:123","time":1700000001'* ]]
  [[ "${lines[1]}" == *'"source":"ntp://192.0.2.2:123"'* ]]
  [[ "${lines[0]}" == *'"stratum":1,"leap":0,"refid":"GPS","poll":6,"root_delay":0'*'"reach":1,"precision":-20,"version":4}' ]]
  # another seed, another stream
  run clocksim --discipline "$D/empty" --servers 2 --duration 300 --seed 2 --record "$D/c.cbor" -o json
  ! cmp -s "$D/a.cbor" "$D/c.cbor"
}

@test "clocksim: Roughtime samples carry verified, the radius and their own source" {
  run clocksim --discipline "$D/empty" --duration 100 --roughtime 2 --roughtime-radius 0.5 --roughtime-offset 2,-3 --record "$D/r.cbor" -o json
  [ "$status" -eq 0 ]
  run timecat -o json "$D/r.cbor"
  [[ "$output" == *'"source":"roughtime://192.0.2.101:2002"'*'"refid":"ROUG"'*'"root_dispersion":0.5'*'"verified":true'* ]]
  [[ "$output" == *'"source":"roughtime://192.0.2.102:2002","time":'*',"offset":-2.99'* ]]
}

@test "clocksim: a discipline that dies, answers garbage, answers nothing or cannot run: one line, no hang" {
  run clocksim --discipline "sh -c 'exit 3'" --duration 100
  [ "$status" -eq 69 ]
  [[ "$output" == "clocksim: discipline "*"(exited with 3)" ]]
  printf '#!/bin/sh\nprintf "garbage\\n"\nexec cat >/dev/null\n' > "$D/garbage"
  chmod +x "$D/garbage"
  run clocksim --discipline "$D/garbage" --duration 100
  [ "$status" -eq 65 ]
  [[ "$output" == "clocksim: discipline: byte 0: "* ]]
  run clocksim --discipline "cat >/dev/null" --timeout 1s --duration 100
  [ "$status" -eq 69 ]
  [[ "$output" == "clocksim: discipline: no answer within 1 s" ]]
  run clocksim --discipline "$D/no-such-discipline" --duration 100
  [ "$status" -eq 69 ]
  [[ "$output" == "clocksim: $D/no-such-discipline: cannot run: No such file or directory" ]]
  # a record that is not a valid adjust
  echo '{"v":1,"type":"adjust","source":"local","time":0,"frequency":1e9}' | timecat -i json -o cbor > "$D/huge.cbor"
  printf '#!/bin/sh\ncat "%s"\nexec cat >/dev/null\n' "$D/huge.cbor" > "$D/huge"
  chmod +x "$D/huge"
  run clocksim --discipline "$D/huge" --duration 100
  [ "$status" -eq 65 ]
  [[ "$output" == "clocksim: discipline: adjust: "* ]]
}

@test "clocksim: a child that hangs or closes its input without exiting is ended, never left behind" {
  # timeout(1) only guards against a hang: 124 would be the failure
  run timeout 15 clocksim --discipline "sleep 30" --timeout 1s --duration 100
  [ "$status" -eq 69 ]
  [[ "$output" == "clocksim: discipline: no answer within 1 s" ]]
  # closes its input: the first sample may still have gone into the pipe before it did
  run timeout 15 clocksim --discipline "exec 0<&-; exec sleep 30" --timeout 1s --duration 100
  [ "$status" -eq 69 ]
  [[ "$output" == "clocksim: discipline does not read its input (killed by signal 15 after SIGTERM)" ||
     "$output" == "clocksim: discipline: no answer within 1 s" ]]
}

@test "clocksim: steps, frequencies and poll from the discipline are applied" {
  # step by +0.5 s on the first sample, then 10 ppm, then poll 4 (clamped to minpoll 5)
  {
    echo '{"v":1,"type":"adjust","source":"x","time":0,"step":0.5,"reason":"test"}'
    echo '{"v":1,"type":"tracking","source":"ntp://192.0.2.1:123","time":0,"stratum":2,"refid":"GPS","root_delay":0,"root_dispersion":0,"offset":0,"frequency":0,"skew":0,"leap":0,"synchronised":true}'
    echo '{"v":1,"type":"refusal","source":"discipline","time":0,"reason":"just a test"}'
    echo '{"v":1,"type":"adjust","source":"x","time":0,"frequency":10,"poll":4}'
    for i in $(seq 1 200); do echo '{"v":1,"type":"adjust","source":"x","time":0}'; done
  } | timecat -i json -o cbor > "$D/steps.cbor"
  printf '#!/bin/sh\ncat "%s"\nexec cat >/dev/null\n' "$D/steps.cbor" > "$D/steps"
  chmod +x "$D/steps"
  run clocksim --discipline "$D/steps" --offset -0.5 --freq -1e-5 --wander 0 --minpoll 5 --maxpoll 8 --duration 500 -o json
  [ "$status" -eq 0 ]
  [ "$(field "$output" steps)" = 1 ]
  [ "$(field "$output" refusals)" = 1 ]
  [[ "$output" == *'"selected":{"ntp://192.0.2.1:123":1}'* ]]
  # after the step at t = 1 s the offset is -1e-5·t; the +10 ppm set at t = 33 s holds it at -0.33 ms
  near "$(field "$output" late_max)" 3.3e-4 1e-5
  # poll 2^4 asked for, clamped to minpoll 5: t = 1, 33, ..., 481
  [ "$(field "$output" requests)" = 16 ]
}
