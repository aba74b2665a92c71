#!/usr/bin/env bats
# The layering DEVELOPERS.md promises, checked: system calls only in libtime/sys (no tool and no
# other wing includes a system-call header), and the pure wings never include libtime/sys.
load common

ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
SYS_HEADERS='#include <(unistd|fcntl|poll|signal|spawn|termios)\.h>|#include <sys/(socket|timex|ioctl|wait|stat|types|time|uio|mman|epoll|timerfd|prctl|capability)\.h>|#include <(netinet|arpa|linux|net)/'

@test "system-call headers only in libtime/sys (the pattern finds them there)" {
  cd "$ROOT"
  # the pattern is live: libtime/sys has them
  grep -rlE "$SYS_HEADERS" libtime/sys | grep -q .
  run bash -c "grep -rlE '$SYS_HEADERS' libtime tools | grep -v '^libtime/sys/'"
  [ -z "$output" ] || { echo "system-call headers outside libtime/sys: $output"; false; }
}

@test "the pure wings (ntp, roughtime, discipline, sim, refclock, http, observe) never include libtime/sys" {
  cd "$ROOT"
  grep -rlq '#include "libtime/sys/' libtime/server   # the pattern is live
  run bash -c 'grep -l "#include \"libtime/sys/" libtime/ntp/* libtime/roughtime/* libtime/discipline/* libtime/sim/* libtime/refclock/* libtime/http/* libtime/observe/*'
  [ -z "$output" ] || { echo "pure wing includes sys/: $output"; false; }
}
