#!/usr/bin/env bats
# chronyd 4.3 as an NTS client of nts-ke --serve and ntp-serve --nts-keys on loopback: it runs
# NTS-KE with nts-ke, then its NTP requests with our cookies are answered by ntp-serve and
# chronyd reports the source authenticated. Rotating the key file out from under its cookies
# gets NTS NAKs and a new key exchange; two ntp-serve processes sharing one key file both serve
# the clients of one nts-ke. chronyd runs with -x: it never touches this machine's clock.
load common
load 750-nts-lib

setup() {
  nts_setup
  KEYS=$BATS_TEST_TMPDIR/nts-keys
}

teardown() { kill_tracked; }

@test "chronyd: NTS-KE with nts-ke, authenticated NTP with ntp-serve (8 cookies of 104 octets)" {
  local ke port
  ke=$(free_port); port=$(free_port)
  start_nts_server "$ke" "$port" "$KEYS"
  [ "$(stat -c %a "$KEYS")" = 600 ]          # created by nts-ke, owner-only
  start_chronyd_nts_client 127.0.0.1 "$ke" "$PKI"
  wait_authenticated
  run chronyc_client authdata
  echo "$output"
  # Name Mode KeyID Type KLen Last Atmp NAK Cook CLen
  read -r name mode _ type klen _ _ nak cook clen <<< "${lines[2]}"
  [ "$name" = 127.0.0.1 ] && [ "$mode" = NTS ] && [ "$type" = 15 ] && [ "$klen" = 256 ]
  [ "$nak" = 0 ] && [ "$cook" -ge 1 ] && [ "$clen" = 104 ]
  run chronyc_client ntpdata
  [[ "$output" == *"Remote port     : $port"* ]]
  local line
  line=$(counters_of "$SERVE_PID" "$BATS_TEST_TMPDIR/ntp-serve.err")
  echo "$line"
  [ "$(counter nts "$line")" -ge 1 ]
  [ "$(counter dropped_nts "$line")" -eq 0 ]
  line=$(counters_of "$KE_PID" "$BATS_TEST_TMPDIR/nts-ke.err")
  [ "$(counter responses "$line")" -ge 1 ] && [ "$(counter cookies "$line")" -ge 8 ]
}

@test "keys rotated out: ntp-serve answers chronyd's old cookies with NTS NAK, chronyd runs NTS-KE again" {
  local ke port
  ke=$(free_port); port=$(free_port)
  start_nts_server "$ke" "$port" "$KEYS"
  start_chronyd_nts_client 127.0.0.1 "$ke" "$PKI"
  wait_authenticated
  nts-ke --rotate-keys "$KEYS" --keep 0   # the only key chronyd's cookies know is gone
  local line nak=0
  for _ in $(seq 100); do
    line=$(counters_of "$SERVE_PID" "$BATS_TEST_TMPDIR/ntp-serve.err")
    nak=$(counter nts_nak "$line")
    [ "$nak" -ge 1 ] && break
    sleep 0.2
  done
  echo "$line"
  [ "$nak" -ge 1 ]
  # chronyd takes the NAK, asks nts-ke again, and its new cookies work
  local before after
  before=$(counter responses "$(counters_of "$KE_PID" "$BATS_TEST_TMPDIR/nts-ke.err")")
  for _ in $(seq 100); do
    after=$(counter responses "$(counters_of "$KE_PID" "$BATS_TEST_TMPDIR/nts-ke.err")")
    [ "$after" -gt 1 ] && break
    sleep 0.2
  done
  [ "$after" -ge 2 ]
  local served
  served=$(counter nts "$(counters_of "$SERVE_PID" "$BATS_TEST_TMPDIR/ntp-serve.err")")
  for _ in $(seq 50); do
    [ "$(counter nts "$(counters_of "$SERVE_PID" "$BATS_TEST_TMPDIR/ntp-serve.err")")" -gt "$served" ] && break
    sleep 0.2
  done
  [ "$(counter nts "$(counters_of "$SERVE_PID" "$BATS_TEST_TMPDIR/ntp-serve.err")")" -gt "$served" ]
  grep -q "reloaded" "$BATS_TEST_TMPDIR/nts-ke.err"
}

@test "two ntp-serve processes sharing one key file serve the clients of one nts-ke (127.0.0.1 and ::1)" {
  local ke port
  ke=$(free_port); port=$(free_port)
  # one nts-ke on 127.0.0.1 and ::1 sends only a Port record: each client goes to the address it
  # reached, server A (127.0.0.1) or server B (::1), as two machines behind one anycast address
  nts-ke --serve --cert "$PKI/server.crt" --key "$PKI/server.key" --keys "$KEYS" -l "127.0.0.1:$ke" \
    -l "[::1]:$ke" --ntp-port "$port" -v 2> "$BATS_TEST_TMPDIR/nts-ke.err" &
  track_pid $!
  wait_tcp_bound "$ke"
  local serve_a serve_b
  ntp-serve -l "127.0.0.1:$port" -s 2 --nts-keys "$KEYS" 2> "$BATS_TEST_TMPDIR/a.err" &
  serve_a=$!
  track_pid "$serve_a"
  ntp-serve -l "[::1]:$port" -s 2 --nts-keys "$KEYS" 2> "$BATS_TEST_TMPDIR/b.err" &
  serve_b=$!
  track_pid "$serve_b"
  wait_udp_bound "$port"
  start_chronyd_nts_client 127.0.0.1 "$ke" "$PKI"
  local dir_a=$CHRONY_DIR
  wait_authenticated
  start_chronyd_nts_client ::1 "$ke" "$PKI"
  wait_authenticated
  chronyc_client ntpdata | grep -q "Remote address  : ::1"
  CHRONY_DIR=$dir_a
  chronyc_client ntpdata | grep -q "Remote address  : 127.0.0.1"
  local a b
  a=$(counters_of "$serve_a" "$BATS_TEST_TMPDIR/a.err")
  b=$(counters_of "$serve_b" "$BATS_TEST_TMPDIR/b.err")
  echo "A: $a"; echo "B: $b"
  [ "$(counter nts "$a")" -ge 1 ] && [ "$(counter nts "$b")" -ge 1 ]
  [ "$(counter nts_nak "$a")" -eq 0 ] && [ "$(counter nts_nak "$b")" -eq 0 ]
}
