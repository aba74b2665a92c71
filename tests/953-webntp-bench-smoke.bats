#!/usr/bin/env bats
# The WebNTP benchmark machinery works: webntp-loadgen keeps its HTTP connections alive against
# nginx (a static JSON file), speaks RFC 6455 (masked frames, subprotocol) to an independent
# WebSocket server (Debian's python3-websockets), counts replies that do not echo the timestamp
# sent, refuses bad arguments; bench/webntp-vs-nginx runs end to end, and says so when
# webntp-serve is not built. Not a timing test: no figure is compared with a goal here.
load common

LOADGEN=$TIMEPIPE_BUILD/bin-bench/webntp-loadgen
BENCH=$BATS_TEST_DIRNAME/../bench/webntp-vs-nginx

setup() {
  [ -x "$LOADGEN" ] || { echo "missing $LOADGEN (built by make loadgen)" >&2; return 1; }
}

teardown() { kill_tracked; }

json_field() {  # json_field JSON KEY
  /usr/bin/python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}


# start_nginx: nginx (peer cache, never installed) serving one JSON file at every path, keep-alive
# without a request limit. Sets NPORT.
start_nginx() {
  require_cmd nginx
  local d=$BATS_TEST_TMPDIR/nginx
  mkdir -p "$d/www" "$d/tmp"
  printf '{"id":"x","it":1700000000.123456,"st":1700000000.123999,"time":1700000000.123999,"leap":37,"next":1483228800,"step":1}' > "$d/www/time.json"
  NPORT=$(free_port)
  cat > "$d/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  keepalive_requests 1000000000;
  client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp; uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
  server { listen 127.0.0.1:$NPORT; root $d/www; location / { default_type application/json; try_files /time.json =404; } }
}
CONF
  nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" 3>&- &
  track_pid $!
  wait_tcp_bound "$NPORT"
}

# start_ws_peer MODE: a WebSocket server of python3-websockets on a free port (sets WPORT). It
# answers each message with a JSON line echoing it in "it" (MODE echo), or every second one
# without the echo (MODE half). It logs each connection's subprotocol to $BATS_TEST_TMPDIR/ws.log.
start_ws_peer() {
  WPORT=$(free_port)
  /usr/bin/python3 - "$WPORT" "$1" "$BATS_TEST_TMPDIR/ws.log" > "$BATS_TEST_TMPDIR/ws.out" 2>&1 3>&- <<'PY' &
import asyncio, sys, websockets
port, mode, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
async def handler(ws, path=None):
    with open(log, "a") as f:
        print(ws.subprotocol, file=f)
    n = 0
    async for m in ws:
        n += 1
        it = m.decode() if isinstance(m, bytes) else m
        if mode == "half" and n % 2 == 0:
            it = "1.000000"
        await ws.send('{"id":"peer","it":%s,"st":1.000000,"time":1.000000,"leap":37,"next":1483228800,"step":1}' % it)
async def main():
    async with websockets.serve(handler, "127.0.0.1", port, subprotocols=["webntp.shogo82148.com"]):
        await asyncio.Future()
asyncio.run(main())
PY
  track_pid $!
  wait_tcp_bound "$WPORT"
}

@test "webntp-loadgen HTTP against nginx: valid replies over kept-alive connections, JSON parses" {
  start_nginx
  run "$LOADGEN" --json -c 4 -d 0.5 "127.0.0.1:$NPORT"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 1 ]
  /usr/bin/python3 -c '
import json, sys
o = json.loads(sys.argv[1])
for k in ("server", "mode", "connections", "elapsed_s", "valid", "invalid", "connection_errors", "connects",
          "responses_per_s", "latency_p50_us", "latency_p99_us", "cpu_s"):
    assert k in o, k
assert o["mode"] == "http" and o["connections"] == 4, o
assert o["valid"] > 100 and o["invalid"] == 0 and o["connection_errors"] == 0, o
assert o["connects"] == 4, o   # keep-alive: one connection per thread for the whole run
assert 0 < o["latency_p50_us"] <= o["latency_p99_us"], o
' "$output"
  # -n stops after that many answers, all connections together; the text line says it
  run "$LOADGEN" -c 2 -n 300 -d 10 "127.0.0.1:$NPORT"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ $output =~ valid\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge 300 ] && [ "${BASH_REMATCH[1]}" -le 302 ]
  [[ $output == "127.0.0.1:$NPORT http: "*", invalid 0, connection errors 0, connects 2; latency p50 "* ]]
}

@test "webntp-loadgen --check-echo: a static file does not echo the timestamp, nothing counts, exit 69" {
  start_nginx
  run "$LOADGEN" --check-echo -c 1 -d 0.3 "127.0.0.1:$NPORT"
  echo "$output"
  [ "$status" -eq 69 ]
  [[ $output == *"replies did not count; the first: reply does not echo the timestamp sent"* ]]
  [ "${lines[-1]}" = "webntp-loadgen: 127.0.0.1:$NPORT: no valid reply" ]
}

@test "webntp-loadgen --ws against python3-websockets: masked frames, the subprotocol, every reply echoes" {
  start_ws_peer echo
  run "$LOADGEN" --ws --check-echo --json -c 3 -n 600 -d 10 "127.0.0.1:$WPORT"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$(json_field "$output" mode)" = websocket ]
  [ "$(json_field "$output" valid)" -ge 600 ]
  [ "$(json_field "$output" invalid)" -eq 0 ]
  [ "$(json_field "$output" connection_errors)" -eq 0 ]
  [ "$(json_field "$output" connects)" -eq 3 ]
  # websockets refuses unmasked client frames (RFC 6455 §5.1): 600 answers prove the masking
  [ "$(sort -u "$BATS_TEST_TMPDIR/ws.log")" = "webntp.shogo82148.com" ]
  [ "$(wc -l < "$BATS_TEST_TMPDIR/ws.log")" -eq 3 ]
  : > "$BATS_TEST_TMPDIR/ws.log"
  run "$LOADGEN" --ws --no-subprotocol -c 1 -n 10 "127.0.0.1:$WPORT"
  [ "$status" -eq 0 ]
  [ "$(cat "$BATS_TEST_TMPDIR/ws.log")" = "None" ]
}

@test "webntp-loadgen --ws: replies without the echo are counted apart, exit 76" {
  start_ws_peer half
  run "$LOADGEN" --ws --check-echo --json -c 1 -n 100 -d 10 "127.0.0.1:$WPORT"
  echo "$output"
  [ "$status" -eq 76 ]
  [ "$(json_field "${lines[0]}" valid)" -ge 50 ]
  [ "$(json_field "${lines[0]}" invalid)" -ge 49 ]
  [ "${lines[-1]}" = "webntp-loadgen: 127.0.0.1:$WPORT: $(json_field "${lines[0]}" invalid) replies did not count; the first: reply does not echo the timestamp sent" ]
}

@test "webntp-loadgen: a refused WebSocket handshake and nobody listening are one reason each, exit 69" {
  start_nginx
  run "$LOADGEN" --ws -c 1 -d 0.3 "127.0.0.1:$NPORT"
  echo "$output"
  [ "$status" -eq 69 ]
  [[ $output == *"connection errors; the first: WebSocket handshake refused: status 200"* ]]
  p=$(free_port)
  run "$LOADGEN" -c 1 -d 0.3 --json "127.0.0.1:$p"
  echo "$output"
  [ "$status" -eq 69 ]
  [ "$(json_field "${lines[0]}" valid)" -eq 0 ]
  [[ ${lines[1]} == "webntp-loadgen: 127.0.0.1:$p: "*" connection errors; the first: "*"refused"* ]]
  [ "${lines[2]}" = "webntp-loadgen: 127.0.0.1:$p: no valid reply" ]
}

@test "webntp-loadgen bad arguments: one line on stderr, exit 64" {
  for args in "" "-c 0 127.0.0.1:80" "-c 1025 127.0.0.1:80" "-d x 127.0.0.1:80" "-d 601 127.0.0.1:80" \
              "-n 0 127.0.0.1:80" "-t 1us 127.0.0.1:80" "-o cbor 127.0.0.1:80" "--path x 127.0.0.1:80" \
              "--path /a?b 127.0.0.1:80" "--bogus 127.0.0.1:80" "-s 2 127.0.0.1:80" "-c" "127.0.0.1" \
              "127.0.0.1:0" "127.0.0.1:99999" "127.0.0.1:80 extra"; do
    # shellcheck disable=SC2086  # the words of one case
    run "$LOADGEN" $args
    echo "args: $args -> $status: $output"
    [ "$status" -eq 64 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ ${lines[0]} == webntp-loadgen:* ]]
  done
  run "$LOADGEN" -h
  [ "$status" -eq 0 ]
  [[ ${lines[0]} == "usage: webntp-loadgen "* ]]
}

@test "webntp-vs-nginx --quick: both servers measured, HTTP and WebSocket verdicts" {
  require_cmd taskset
  require_cmd nginx
  [ -x "$TIMEPIPE_BUILD/bin/webntp-serve" ] || { echo "missing $TIMEPIPE_BUILD/bin/webntp-serve" >&2; return 1; }
  run "$BENCH" --quick
  echo "$output"
  [ "$status" -eq 0 ]
  grep -Eq '^webntp-serve http +[0-9]+ +[0-9.]+ +[0-9]+ +[0-9.]+% +0 +0 ' <<< "$output"       # none invalid
  grep -Eq '^nginx file http +[0-9]+ +[0-9.]+ +[0-9]+ +[0-9.]+% +0 +0 ' <<< "$output"
  grep -Eq '^nginx return http +[0-9]+ +[0-9.]+ +[0-9]+ +[0-9.]+% +0 +0 ' <<< "$output"
  grep -Eq '^webntp-serve websocket +[0-9]+ +[0-9.]+ +[0-9]+ +[0-9.]+% +0 +0 ' <<< "$output"
  grep -Eq '^HTTP keep-alive +webntp-serve/nginx file CPU per resp +[0-9.]+ +goal <= 1.50, all valid +(PASS|MISS)' <<< "$output"
  grep -Eq '^WebSocket +webntp-serve message/HTTP response +[0-9.]+ +goal <= 1.00, all valid +(PASS|MISS)' <<< "$output"
}

@test "webntp-vs-nginx without webntp-serve: nginx measured, exit 1 saying so; bad arguments exit 64" {
  require_cmd taskset
  require_cmd nginx
  fake=$BATS_TEST_TMPDIR/build
  mkdir -p "$fake/bin-bench"
  ln -s "$LOADGEN" "$fake/bin-bench/webntp-loadgen"
  TIMEPIPE_BUILD=$fake run "$BENCH" --quick
  echo "$output"
  [ "$status" -eq 1 ]
  grep -Eq '^nginx file http +[0-9]+ +[0-9.]+ +[0-9]+ +[0-9.]+% +0 +0 ' <<< "$output"
  grep -Eq '^nginx return http +[0-9]+ +[0-9.]+ +[0-9]+ +[0-9.]+% +0 +0 ' <<< "$output"
  [ "${lines[-1]}" = "webntp-vs-nginx: $fake/bin/webntp-serve: not built: nginx measured alone, nothing compared (make builds webntp-serve)" ]
  for a in "-d x" "-d 0" "-r 0" "-c 0" "-c 2000" "--bogus" "-a"; do
    # shellcheck disable=SC2086  # the words of one case
    run "$BENCH" $a
    echo "$a -> $status: $output"
    [ "$status" -eq 64 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ ${lines[0]} == "webntp-vs-nginx: "* ]]
  done
  run "$BENCH" -h
  [ "$status" -eq 0 ]
  [[ $output == *"nginx has no WebSocket echo"* ]]
}
