#!/usr/bin/env bats
# tests/run's fuzz suite: a target that printed a sanitizer or libFuzzer report fails the suite
# even when it exited 0, and the fuzz build stops at the first UBSan finding
# (-fno-sanitize-recover=all). The targets here are stand-in scripts in a FUZZ_BUILD of the
# test's own; tests/run is run for its fuzz suite only.
load common

setup() {
  ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  FB=$BATS_TEST_TMPDIR/fuzz
  mkdir -p "$FB"
}

# target NAME EXIT [LINE...]: a stand-in fuzz target printing LINEs and exiting with EXIT.
target() {
  local name=$1 rc=$2
  shift 2
  { echo '#!/bin/sh'; for l in "$@"; do printf 'echo %q\n' "$l"; done; echo "exit $rc"; } > "$FB/fuzz_$name"
  chmod +x "$FB/fuzz_$name"
}

fuzz_suite() { run env TIMEPIPE_SUITES=fuzz FUZZ_BUILD="$FB" FUZZ_SECONDS=1 "$ROOT/tests/run"; echo "$output"; }

@test "fuzz: a clean run that exits 0 passes" {
  target clean 0 "INFO: Running with entropic power schedule" "Done 1234 runs in 1 second(s)"
  fuzz_suite
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "1 passed, 0 failed" ]
}

@test "fuzz: a UBSan 'runtime error:' in a run that exited 0 fails the suite" {
  target ub 0 "libtime/ntp/client.cpp:42:17: runtime error: shift exponent 40 is too large for 32-bit type 'int'" \
    "Done 99 runs in 1 second(s)"
  target clean 0 "Done 1234 runs in 1 second(s)"
  fuzz_suite
  [ "$status" -ne 0 ]
  [ "${lines[-1]}" = "1 passed, 1 failed" ]
  [[ "$output" == *"fuzz ub FAILED: sanitizer report (exit 0): "*"runtime error: shift exponent"* ]]
  [[ "$output" == *"failing suites: fuzz"* ]]
}

@test "fuzz: ASan, LeakSanitizer and libFuzzer reports fail the suite whatever the exit status" {
  target asan 0 "==4242==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000000011"
  target lsan 0 "==4243==ERROR: LeakSanitizer: detected memory leaks"
  target dead 0 "==4244== ERROR: libFuzzer: deadly signal"
  target crash 1 "something went wrong"
  fuzz_suite
  [ "$status" -ne 0 ]
  [ "${lines[-1]}" = "0 passed, 4 failed" ]
  [[ "$output" == *"fuzz crash FAILED: exit 1"* ]]
}

@test "fuzz: no targets at all is a failure, not a pass" {
  fuzz_suite
  [ "$status" -ne 0 ]
  [ "${lines[-1]}" = "0 passed, 1 failed" ]
}

@test "the fuzz build does not recover from sanitizer findings" {
  run make -s -C "$ROOT" -n FUZZ_BUILD="$FB/b" LIB_SRCS=libtime/base/cidr.cpp "$FB/b/fuzz_cidr"
  echo "$output"
  # compile and link lines of the fuzz build both carry it
  [ "$(grep -c 'clang++.*-fno-sanitize-recover=all' <<<"$output")" -ge 2 ]
}
