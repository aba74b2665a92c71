#!/usr/bin/env bats
# roughtime-serve: help, version, option errors (one line, EX_USAGE), --keygen, key file checks.
load common
load 500-roughtime-serve-lib
bats_require_minimum_version 1.5.0

@test "roughtime-serve --help prints usage on stdout and exits 0" {
  run roughtime-serve --help
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == usage:* ]]
  for opt in --keygen --force --key --listen --tcp --google --radius --upstream --stale-after \
             --online-validity --batch-size --batch-delay --offset; do
    grep -q -- "$opt" <<<"$output" || { echo "help lacks $opt"; return 1; }
  done
  run roughtime-serve -h
  [ "$status" -eq 0 ]
}

@test "roughtime-serve -V prints the version" {
  run roughtime-serve -V
  [ "$status" -eq 0 ]
  [[ "$output" == "roughtime-serve "* ]]
}

@test "bad options: one line on stderr, exit 64" {
  local bad=(
    "--bogus" "-q" "--radius 0" "--radius soon" "--radius -1s" "--online-validity 500ms"
    "--online-validity x" "--batch-size 0" "--batch-size 257" "--batch-size x" "--batch-delay -1"
    "--batch-delay 2s" "--offset" "--offset 1d" "--tcp yes" "--google maybe" "--stale-after 0"
    "--listen [::1" "--listen 127.0.0.1:99999" "--force" "--key" "extra-argument"
  )
  local args
  for args in "${bad[@]}"; do
    # shellcheck disable=SC2086
    run --separate-stderr roughtime-serve $args
    [ "$status" -eq 64 ] || { echo "$args: status $status"; return 1; }
    [ "${#stderr_lines[@]}" -eq 1 ] || { echo "$args: ${stderr_lines[*]}"; return 1; }
    [[ "${stderr_lines[0]}" == roughtime-serve:\ * ]] || { echo "$args: ${stderr_lines[0]}"; return 1; }
    [ -z "$output" ]
  done
}

@test "an error names the option at fault" {
  run --separate-stderr roughtime-serve --batch-size 0
  [ "$stderr" = 'roughtime-serve: --batch-size: "0" is not an integer from 1 to 256' ]
  run --separate-stderr roughtime-serve --radius -1s
  [ "$stderr" = 'roughtime-serve: --radius: bad duration "-1s": negative' ]
  run --separate-stderr roughtime-serve --offset -1d
  [[ "$stderr" == 'roughtime-serve: --offset: bad duration "-1d": '* ]]
}

@test "no key: exit 64 naming --key" {
  run --separate-stderr env -u CREDENTIALS_DIRECTORY roughtime-serve --listen 127.0.0.1:0
  [ "$status" -eq 64 ]
  [[ "$stderr" == "roughtime-serve: no key: give --key FILE"* ]]
}

@test "--keygen writes a 0600 key and prints its public key in base64 and hex" {
  local key=$BATS_TEST_TMPDIR/key
  run --separate-stderr roughtime-serve --keygen "$key"
  [ "$status" -eq 0 ]
  [ -z "$stderr" ]
  [ "$(stat -c %a "$key")" = 600 ]
  [[ "${lines[0]}" =~ ^public\ key\ \(base64\):\ ([A-Za-z0-9+/]{43}=)$ ]]
  local b64=${BASH_REMATCH[1]}
  [[ "${lines[1]}" =~ ^public\ key\ \(hex\):\ ([0-9a-f]{64})$ ]]
  local hexkey=${BASH_REMATCH[1]}
  # The two spellings are one key, the one the file's seed gives (checked independently).
  [ "$(printf '%s' "$b64" | base64 -d | od -An -tx1 | tr -d ' \n')" = "$hexkey" ]
  local seed derived
  seed=$(sed -n 's/^ed25519-seed //p' "$key")
  [[ "$seed" =~ ^[0-9a-f]{64}$ ]]
  derived=$(/usr/bin/python3 -c '
import sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
k = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(sys.argv[1]))
print(k.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex())' "$seed")
  [ "$derived" = "$hexkey" ]
  # Even under a permissive umask.
  (umask 000 && roughtime-serve --keygen "$BATS_TEST_TMPDIR/key2" >/dev/null)
  [ "$(stat -c %a "$BATS_TEST_TMPDIR/key2")" = 600 ]
}

@test "--keygen refuses to overwrite without --force (exit 73) and replaces with it" {
  local key=$BATS_TEST_TMPDIR/key
  roughtime-serve --keygen "$key" > "$BATS_TEST_TMPDIR/first"
  cp "$key" "$BATS_TEST_TMPDIR/saved"
  run --separate-stderr roughtime-serve --keygen "$key"
  [ "$status" -eq 73 ]
  [ "$stderr" = "roughtime-serve: $key: exists (--force replaces it)" ]
  [ -z "$output" ]
  cmp "$key" "$BATS_TEST_TMPDIR/saved"
  run roughtime-serve --keygen "$key" --force
  [ "$status" -eq 0 ]
  ! cmp -s "$key" "$BATS_TEST_TMPDIR/saved"
  [ "$(stat -c %a "$key")" = 600 ]
  [ "$output" != "$(cat "$BATS_TEST_TMPDIR/first")" ]
}

@test "a key file group or others may read is refused (exit 77), like ssh" {
  local key=$BATS_TEST_TMPDIR/key
  roughtime-serve --keygen "$key" >/dev/null
  chmod 0644 "$key"
  run --separate-stderr roughtime-serve --key "$key" --listen 127.0.0.1:0
  [ "$status" -eq 77 ]
  [ "$stderr" = "roughtime-serve: $key: mode 0644 lets group or others read it (chmod 600 it)" ]
  chmod 0640 "$key"
  run --separate-stderr roughtime-serve --key "$key" --listen 127.0.0.1:0
  [ "$status" -eq 77 ]
}

@test "missing or broken key file: exit 66 / 65, the secret never printed" {
  run --separate-stderr roughtime-serve --key "$BATS_TEST_TMPDIR/none" --listen 127.0.0.1:0
  [ "$status" -eq 66 ]
  [ "$stderr" = "roughtime-serve: $BATS_TEST_TMPDIR/none: No such file or directory" ]
  local key=$BATS_TEST_TMPDIR/bad
  (umask 077 && printf 'ed25519-seed %s\n' 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeX > "$key")
  run --separate-stderr roughtime-serve --key "$key" --listen 127.0.0.1:0
  [ "$status" -eq 65 ]
  [ "$stderr" = "roughtime-serve: $key: line 1: the seed is not hex" ]
}

@test "the key comes from \$CREDENTIALS_DIRECTORY/roughtime-key without --key" {
  mkdir -m 0700 "$BATS_TEST_TMPDIR/creds"
  rt_keygen "$BATS_TEST_TMPDIR/creds/roughtime-key"
  PORT=$(free_port)
  CREDENTIALS_DIRECTORY=$BATS_TEST_TMPDIR/creds roughtime-serve --listen "127.0.0.1:$PORT" 2>/dev/null &
  track_pid $!
  wait_udp_bound "$PORT"
  run rt_query "$PORT" "$PUBKEY"
  [[ "$output" == "{"* ]] || { echo "$output"; return 1; }
}

@test "bind failure: one line naming the address, exit 71 (EX_OSERR)" {
  local p key=$BATS_TEST_TMPDIR/key
  roughtime-serve --keygen "$key" >/dev/null
  p=$(free_port)
  /usr/bin/python3 -c "
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(('::1', $p)); time.sleep(30)" &
  track_pid $!
  wait_udp_bound "$p"
  run --separate-stderr roughtime-serve --key "$key" --listen "[::1]:$p"
  [ "$status" -eq 71 ]
  [ "$stderr" = "roughtime-serve: [::1]:$p: bind: Address already in use" ]
}
