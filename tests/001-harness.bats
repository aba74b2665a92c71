#!/usr/bin/env bats
# The harness itself: ports are free, peers start and are killed by PID.
load common

@test "free_port returns a usable port" {
  p=$(free_port)
  [ "$p" -gt 1024 ] && [ "$p" -lt 65536 ]
}

@test "chronyd starts on loopback and is killed in teardown" {
  p=$(free_port)
  start_chronyd_server "$p" 3
  ss -Hnlu "sport = :$p" | grep -q 127.0.0.1
}
