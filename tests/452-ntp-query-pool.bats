#!/usr/bin/env bats
# A name that resolves to several addresses (a pool) becomes several sources.
# The test gives itself a private /etc/hosts in a mount namespace (unshare -m + bind mount),
# so pool.timepipe.test resolves to 127.0.0.2, 127.0.0.3 and ::1 for ntp-query alone.
load common

setup() {
  PORT=$(free_port)
  HOSTS=$BATS_TEST_TMPDIR/hosts
  printf '127.0.0.1 localhost\n127.0.0.2 pool.timepipe.test\n127.0.0.3 pool.timepipe.test\n::1 pool.timepipe.test\n' > "$HOSTS"
  for a in 127.0.0.2 127.0.0.3 '[::1]'; do
    ntp-serve --listen "$a:$PORT" --stratum 3 2>/dev/null &
    track_pid $!
  done
  for _ in $(seq 50); do
    [ "$(ss -Hnlu "sport = :$PORT" | wc -l)" -ge 3 ] && break
    sleep 0.1
  done
}

# Run ntp-query with the private hosts file.
query_pool() {
  unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$HOSTS" ntp-query "$@"
}

@test "every address of a pool name is queried as its own source" {
  run query_pool -n 2 -o json "pool.timepipe.test:$PORT"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(grep -c '"type":"sample"' <<<"$output")" -eq 3 ]
  [[ "$output" == *"\"source\":\"ntp://127.0.0.2:$PORT\""* ]]
  [[ "$output" == *"\"source\":\"ntp://127.0.0.3:$PORT\""* ]]
  [[ "$output" == *"\"source\":\"ntp://[::1]:$PORT\""* ]]
}

@test "--max-sources bounds how many addresses of a name are used" {
  run query_pool -n 1 --max-sources 2 -o json "pool.timepipe.test:$PORT"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(grep -c '"type":"sample"' <<<"$output")" -eq 2 ]
}

@test "-4 keeps only the IPv4 addresses of a pool" {
  run query_pool -4 -n 1 -o json "pool.timepipe.test:$PORT"
  [ "$status" -eq 0 ]
  [ "$(grep -c '"type":"sample"' <<<"$output")" -eq 2 ]
  [[ "$output" != *'[::1]'* ]]
}

@test "the text view of a pool marks a system peer among the sources" {
  run query_pool -n 2 -o text "pool.timepipe.test:$PORT"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(grep -c "127.0.0.[23]:$PORT\|\[::1\]:$PORT" <<<"$output")" -eq 3 ]
  grep -q "^\*" <<<"$output"
}
