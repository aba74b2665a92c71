#!/usr/bin/env bats
# ntp-serve: help, version, option errors (one line, EX_USAGE), files and bind failures.
load common
bats_require_minimum_version 1.5.0

@test "ntp-serve --help prints usage on stdout and exits 0" {
  run ntp-serve --help
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == usage:* ]]
  for opt in --listen --stratum --upstream --stale-after --no-correct --rate-limit --allow --deny \
             --restrict --acl-file --deny-kod --interleaved --workers --coalesce --stats-interval --output; do
    grep -q -- "$opt" <<<"$output" || { echo "help lacks $opt"; return 1; }
  done
  run ntp-serve -h
  [ "$status" -eq 0 ]
}

@test "ntp-serve -V prints the version" {
  run ntp-serve -V
  [ "$status" -eq 0 ]
  [[ "$output" == "ntp-serve "* ]]
}

@test "bad options: one line on stderr, exit 64" {
  local bad=(
    "--bogus" "-q" "--stratum 0" "--stratum 16" "--stratum x" "--rate-limit fast"
    "--rate-limit 1/0" "--allow 10.0.0.0/33" "--deny 300.1.1.1" "--restrict nonsense"
    "--deny-kod maybe" "--interleaved yes" "--workers 0" "--workers 65" "--stale-after soon"
    "--stale-after -1s" "--stats-interval 0" "-o xml" "--listen [::1" "--listen 127.0.0.1:99999"
    "--stratum" "extra-argument" "--coalesce soon" "--coalesce -1us" "--coalesce 2s"
  )
  local args
  for args in "${bad[@]}"; do
    # shellcheck disable=SC2086
    run --separate-stderr ntp-serve $args
    [ "$status" -eq 64 ] || { echo "$args: status $status"; return 1; }
    [ "${#stderr_lines[@]}" -eq 1 ] || { echo "$args: ${stderr_lines[*]}"; return 1; }
    [[ "${stderr_lines[0]}" == ntp-serve:\ * ]] || { echo "$args: ${stderr_lines[0]}"; return 1; }
    [ -z "$output" ]
  done
}

@test "an error names the option at fault" {
  run --separate-stderr ntp-serve --allow 10.0.0.0/33
  [ "$stderr" = "ntp-serve: allow 10.0.0.0/33: bad prefix length 33" ]
  run --separate-stderr ntp-serve --workers 0
  [[ "$stderr" == "ntp-serve: --workers: \"0\" is not an integer from 1 to 64" ]]
  run --separate-stderr ntp-serve --stale-after -1s
  [ "$stderr" = 'ntp-serve: --stale-after: bad duration "-1s": negative' ]
  run --separate-stderr ntp-serve --coalesce 2s
  [ "$stderr" = "ntp-serve: --coalesce: 2s: more than 1s" ]
}

@test "bind failure: one line naming the address, exit 71 (EX_OSERR)" {
  local p
  p=$(free_port)
  /usr/bin/python3 -c "
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(('::1', $p)); time.sleep(30)" &
  track_pid $!
  wait_udp_bound "$p"
  run --separate-stderr ntp-serve --listen "[::1]:$p" --stratum 2
  [ "$status" -eq 71 ]
  [ "$stderr" = "ntp-serve: [::1]:$p: bind: Address already in use" ]
}

@test "missing --acl-file or --upstream file: exit 66 (EX_NOINPUT)" {
  run --separate-stderr ntp-serve --listen 127.0.0.1:0 --acl-file "$BATS_TEST_TMPDIR/none"
  [ "$status" -eq 66 ]
  [[ "$stderr" == "ntp-serve: $BATS_TEST_TMPDIR/none: No such file or directory" ]]
  run --separate-stderr ntp-serve --listen 127.0.0.1:0 --upstream "$BATS_TEST_TMPDIR/none"
  [ "$status" -eq 66 ]
  [ "${#stderr_lines[@]}" -eq 1 ]
}

@test "a bad --acl-file line: exit 65 (EX_DATAERR) naming file and line" {
  printf 'allow 127.0.0.0/8\nallow nothing\n' > "$BATS_TEST_TMPDIR/acl"
  run --separate-stderr ntp-serve --listen 127.0.0.1:0 --acl-file "$BATS_TEST_TMPDIR/acl"
  [ "$status" -eq 65 ]
  [[ "$stderr" == "ntp-serve: $BATS_TEST_TMPDIR/acl: line 2: "* ]]
}
