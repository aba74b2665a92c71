#!/usr/bin/env bats
# hwts-probe(1): options, usage errors, and the errors of a missing interface, a missing or
# non-PTP clock device, a refused port and a server that never answers (one line, sysexits).
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd hwts-probe
}

@test "hwts-probe -h, -V" {
  run --separate-stderr hwts-probe -h
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
  [[ "$output" == *"--phc DEVICE"* ]]
  run --separate-stderr hwts-probe -V
  [ "$status" -eq 0 ]
  [[ "$output" == "hwts-probe "* ]]
}

@test "hwts-probe: bad options are one line, EX_USAGE" {
  run --separate-stderr hwts-probe --bogus
  [ "$status" -eq 64 ]
  [ "$stderr" = "hwts-probe: --bogus: unknown option (see -h)" ]
  run --separate-stderr hwts-probe
  [ "$status" -eq 64 ]
  [ "$stderr" = "hwts-probe: nothing to do: give a SERVER, -i or --phc (see -h)" ]
  run --separate-stderr hwts-probe -c x 127.0.0.1
  [ "$status" -eq 64 ]
  [[ "$stderr" == "hwts-probe: -c: "* ]]
  run --separate-stderr hwts-probe -c 0 127.0.0.1
  [ "$status" -eq 64 ]
  [ "$stderr" = "hwts-probe: -c: 0 is only for --phc" ]
  run --separate-stderr hwts-probe --phc /dev/ptp0 127.0.0.1
  [ "$status" -eq 64 ]
  [ "$stderr" = "hwts-probe: --phc: not with a server, -i or --hardware" ]
  run --separate-stderr hwts-probe --phc /dev/ptp0 --readings 26
  [ "$status" -eq 64 ]
  run --separate-stderr hwts-probe --phc-offset -37 127.0.0.1
  [ "$status" -eq 64 ]
  [ "$stderr" = "hwts-probe: --phc-offset: only with --phc" ]
  run --separate-stderr hwts-probe --phc /dev/ptp0 --phc-offset soon
  [ "$status" -eq 64 ]
  [[ "$stderr" == "hwts-probe: --phc-offset: "* ]]
  run --separate-stderr hwts-probe -o xml -i lo
  [ "$status" -eq 64 ]
  run --separate-stderr hwts-probe 127.0.0.1 extra
  [ "$status" -eq 64 ]
  [ "$stderr" = "hwts-probe: extra: unexpected argument (see -h)" ]
}

@test "hwts-probe -i: a missing interface is EX_NOINPUT, a name too long EX_USAGE" {
  run --separate-stderr hwts-probe -i tp-nosuch0
  [ "$status" -eq 66 ]
  [ "$stderr" = "hwts-probe: tp-nosuch0: no such interface" ]
  [ -z "$output" ]
  run --separate-stderr hwts-probe -i a-name-of-16-chr
  [ "$status" -eq 64 ]
  [ "$stderr" = "hwts-probe: a-name-of-16-chr: interface name must be 1-15 characters" ]
}

@test "hwts-probe --phc: a missing device is EX_NOINPUT, a device that is no PTP clock EX_UNAVAILABLE" {
  run --separate-stderr hwts-probe --phc /dev/ptp-tp-nosuch
  [ "$status" -eq 66 ]
  [ "$stderr" = "hwts-probe: /dev/ptp-tp-nosuch: No such file or directory" ]
  # /dev/null answers every PTP_SYS_OFFSET ioctl with ENOTTY: all three methods are tried.
  run --separate-stderr hwts-probe --phc /dev/null -o json
  [ "$status" -eq 69 ]
  [ "$stderr" = "hwts-probe: /dev/null: no PTP_SYS_OFFSET method is offered by this clock" ]
  [ -z "$output" ]
}

@test "hwts-probe: a refused port is EX_UNAVAILABLE" {
  local p; p=$(free_port)
  run --separate-stderr hwts-probe -c 1 -t 2s -o json "127.0.0.1:$p"
  [ "$status" -eq 69 ]
  [ "$stderr" = "hwts-probe: 127.0.0.1:$p: connection refused" ]
}

@test "hwts-probe: a server that never answers: probes without user_rx, then EX_UNAVAILABLE" {
  local p; p=$(free_port)
  /usr/bin/python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', $p))
time.sleep(60)" &
  track_pid $!
  wait_udp_bound "$p"
  run --separate-stderr hwts-probe -c 2 -t 200ms --interval 0 -o json "127.0.0.1:$p"
  [ "$status" -eq 69 ]
  [ "$stderr" = "hwts-probe: 127.0.0.1:$p: no answer to 2 requests" ]
  [ "${#lines[@]}" -eq 2 ]
  # The request still left, and its software TX stamp came back.
  for l in "${lines[@]}"; do
    [[ "$l" == *'"software_tx":'* ]]
    [[ "$l" != *'"user_rx"'* ]]
    [[ "$l" != *'"software_rx"'* ]]
  done
}
