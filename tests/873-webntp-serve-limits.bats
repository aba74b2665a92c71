#!/usr/bin/env bats
# webntp-serve(8) under hostile input and load: malformed HTTP (400), oversized headers (431), a
# slow client (408 and cut off), too many requests (429), a thousand idle connections beyond
# --max-connections (refused, the others served, peak RSS reported and bounded); and
# --upstream: the time of a sample stream served, 503 while it has nothing usable.
bats_require_minimum_version 1.5.0
load common
load 870-webntp-lib

setup() {
  require_cmd webntp-serve
  require_cmd curl
  require_cmd timecat
}

hex() { printf "$1" | od -An -tx1 | tr -d ' \n'; }

@test "malformed HTTP gets 400 with the parser's reason; the server answers the next client" {
  wserve_start
  run raw_exchange "$WS_PORT" "$(hex 'GARBAGE\r\n\r\n')"
  echo "$output"
  [[ "${lines[0]}" == "'HTTP/1.1 400 Bad Request\\r\\n"*"malformed HTTP: "* ]]
  [ "${lines[1]}" = eof ]
  run raw_exchange "$WS_PORT" "$(hex 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n')"
  [[ "${lines[0]}" == "'HTTP/1.1 400 Bad Request"* ]]
  run raw_exchange "$WS_PORT" "00ff00ff0d0a0d0a"
  [[ "${lines[0]}" == "'HTTP/1.1 400 Bad Request"* ]]
  # a WebSocket upgrade without a key
  run raw_exchange "$WS_PORT" "$(hex 'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')"
  [[ "${lines[0]}" == "'HTTP/1.1 400 Bad Request"*Sec-WebSocket-Key* ]]
  run curl -sS "http://127.0.0.1:$WS_PORT/?1"
  [[ "$output" =~ $(JSON_RE 1.000000) ]]
}

@test "headers over 8 KiB get 431; 8 KiB of them is still fine" {
  wserve_start
  run curl -sS -o /dev/null -w '%{http_code}' -H "X-Big: $(printf 'a%.0s' $(seq 9000))" "http://127.0.0.1:$WS_PORT/?1"
  [ "$output" = 431 ]
  run curl -sS -H "X-Big: $(printf 'a%.0s' $(seq 7000))" "http://127.0.0.1:$WS_PORT/?1"
  [[ "$output" =~ $(JSON_RE 1.000000) ]]
  # 431 also when the headers never end (no blank line)
  run raw_exchange "$WS_PORT" "$(hex 'GET / HTTP/1.1\r\n')$(printf '582d413a20%.0s' $(seq 3000))"
  [[ "${lines[0]}" == "'HTTP/1.1 431 Request Header Fields Too Large"* ]]
  [ "${lines[1]}" = eof ]
}

@test "a slow client whose headers do not complete within --header-timeout gets 408 and is cut off" {
  wserve_start --header-timeout 1s
  run raw_exchange "$WS_PORT" "$(hex 'GET / HTTP/1.1\r\nHost: a\r\n')" 8
  echo "$output"
  [[ "${lines[0]}" == "'HTTP/1.1 408 Request Timeout"* ]]
  [ "${lines[1]}" = eof ]
  run curl -sS "http://127.0.0.1:$WS_PORT/?1"
  [[ "$output" =~ $(JSON_RE 1.000000) ]]
}

@test "more than --max-rate requests a second on one connection: 429 and closed" {
  wserve_start --max-rate 3
  req=$(for i in 1 2 3 4 5; do hex 'GET /?1 HTTP/1.1\r\nHost: a\r\n\r\n'; done)
  run raw_exchange "$WS_PORT" "$req"
  echo "$output"
  [ "$(grep -o 'HTTP/1.1 200 OK' <<< "${lines[0]}" | wc -l)" -le 3 ]
  [[ "${lines[0]}" == *"HTTP/1.1 429 Too Many Requests"* ]]
  [ "${lines[1]}" = eof ]
}

@test "a thousand idle connections: those beyond --max-connections refused, the others served, RSS bounded" {
  wserve_start --max-connections 500
  run /usr/bin/python3 - "$WS_PORT" <<'PY'
import select, socket, sys, time
port = int(sys.argv[1])
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(1000)]
time.sleep(1.0)
closed = 0
for s in conns:
    r, _, _ = select.select([s], [], [], 0)
    if r and s.recv(1) == b"": closed += 1
alive = [s for s in conns if select.select([s], [], [], 0)[0] == []]
print("closed", closed)
# every connection the server kept still answers
ok = 0
for s in alive:
    s.sendall(b"GET /?1 HTTP/1.1\r\nHost: a\r\n\r\n")
for s in alive:
    s.settimeout(5)
    if s.recv(4096).startswith(b"HTTP/1.1 200 OK"): ok += 1
print("served", ok, "of", len(alive))
PY
  echo "$output"
  [ "${lines[0]}" = "closed 500" ]
  [ "${lines[1]}" = "served 500 of 500" ]
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$WS_PID/status")
  echo "# peak RSS with 500 connections held and 500 refused: ${hwm} kB" >&3
  [ "$hwm" -lt 131072 ]
  kill -USR1 "$WS_PID"
  for i in $(seq 50); do grep -q "counters:" "$WS_ERR" && break; sleep 0.1; done
  grep -q "counters: connections=500 refused=500 " "$WS_ERR"
}

# sample OFFSET: one sample record of an upstream server, dated now, as CBOR.
sample() {
  /usr/bin/python3 - "$1" <<'PY' | timecat -i json -o cbor
import json, sys, time
print(json.dumps({"v": 1, "type": "sample", "source": "ntp://192.0.2.1:123", "time": time.time_ns(),
    "offset": float(sys.argv[1]), "delay": 0.0002, "dispersion": 1e-6, "stratum": 2, "leap": 0,
    "refid": "192.0.2.7", "poll": 6, "root_delay": 0.001, "root_dispersion": 0.001}))
PY
}

@test "--upstream FILE: the upstream's time is served (local clock + its offset); 503 until it has one" {
  : > "$BATS_TEST_TMPDIR/up.cbor"
  wserve_start --upstream "$BATS_TEST_TMPDIR/up.cbor"
  run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WS_PORT/?1"
  [ "$output" = 503 ]
  sample 1000.0 >> "$BATS_TEST_TMPDIR/up.cbor"
  for i in $(seq 50); do grep -q "synchronised to ntp://192.0.2.1:123" "$WS_ERR" && break; sleep 0.1; done
  run curl -sS "http://127.0.0.1:$WS_PORT/?1"
  [[ "$output" =~ $(JSON_RE 1.000000) ]]
  st=${BASH_REMATCH[1]%.*}
  now=$(date +%s)
  d=$((st - now - 1000))
  [ "$d" -le 2 ] && [ "$d" -ge -2 ]
}

@test "--upstream -: a stream that ends ends the server" {
  WS_PORT=$(free_port)
  make_leapfile "$BATS_TEST_TMPDIR/leap.list"
  sample 0.5 > "$BATS_TEST_TMPDIR/one.cbor"
  run --separate-stderr webntp-serve -l "127.0.0.1:$WS_PORT" --leapfile "$BATS_TEST_TMPDIR/leap.list" --upstream - < "$BATS_TEST_TMPDIR/one.cbor"
  [ "$status" -eq 69 ]
  [[ "$stderr" == *"stdin: the upstream ended; exiting"* ]]
}
