#!/usr/bin/env bats
# webntp-serve(8) over WebSocket, with Python websockets (Debian's python3-websockets) as the
# independent client: with and without the subprotocol, text and binary messages, the exact JSON
# line, the origin check and --allow-cross-origin, and hostile frames (over 1024 bytes, a declared
# 2 GiB, invalid UTF-8, not a number) each closed with its code while the server serves others.
bats_require_minimum_version 1.5.0
load common
load 870-webntp-lib

setup() {
  require_cmd webntp-serve
  /usr/bin/python3 -c 'import websockets' || { echo "missing python3-websockets: run scripts/install-deps" >&2; return 1; }
}

@test "ws: with the subprotocol it is echoed; text and binary messages each get one JSON text frame" {
  wserve_start
  run ws_client "ws://127.0.0.1:$WS_PORT/" --proto webntp.shogo82148.com 1.9999996 b:313730303030303030302e31323334353637
  [ "$status" -eq 0 ]
  echo "$output"
  [ "${lines[0]}" = "subprotocol webntp.shogo82148.com" ]
  [[ "${lines[1]}" =~ $(JSON_RE 2.000000) ]]
  [[ "${lines[2]}" =~ $(JSON_RE 1700000000.123457) ]]
  [ "${lines[3]}" = "closed 1000" ]
}

@test "ws: without the subprotocol it is accepted too, on any path" {
  wserve_start
  run ws_client "ws://127.0.0.1:$WS_PORT/any/path" 1 2 3
  [ "${lines[0]}" = "subprotocol None" ]
  [[ "${lines[1]}" =~ $(JSON_RE 1.000000) ]]
  [[ "${lines[3]}" =~ $(JSON_RE 3.000000) ]]
}

@test "ws: a foreign Origin is refused (403) as go-webntp's upgrader does; --allow-cross-origin accepts it" {
  wserve_start
  run ws_client "ws://127.0.0.1:$WS_PORT/" --origin http://evil.example 1
  [[ "$output" == "refused: "*403* ]]
  run ws_client "ws://127.0.0.1:$WS_PORT/" --origin "http://127.0.0.1:$WS_PORT" 1
  [[ "${lines[1]}" =~ $(JSON_RE 1.000000) ]]
  grep -q "403 origin http://evil.example is not 127.0.0.1:$WS_PORT" "$WS_ERR"
  kill "$WS_PID"
  wserve_start --allow-cross-origin
  run ws_client "ws://127.0.0.1:$WS_PORT/" --origin http://evil.example 1
  [[ "${lines[1]}" =~ $(JSON_RE 1.000000) ]]
}

@test "ws: a message over 1024 bytes is closed with 1009, one that is not a number with 1007" {
  wserve_start
  big=$(printf '1%.0s' $(seq 1025))
  run ws_client "ws://127.0.0.1:$WS_PORT/" "$big"
  [ "${lines[1]}" = "closed 1009 " ]
  run ws_client "ws://127.0.0.1:$WS_PORT/" 1 "12 o'clock"
  [[ "${lines[1]}" =~ $(JSON_RE 1.000000) ]]
  [[ "${lines[2]}" == "closed 1007 not a timestamp: "* ]]
  # exactly 1024 bytes is still a message (an unparsable one here)
  run ws_client "ws://127.0.0.1:$WS_PORT/" "$(printf '1%.0s' $(seq 1024))"
  [[ "${lines[1]}" == "closed 1007 "* ]]
}

@test "ws: a frame declaring 2 GiB is closed (1009) at its header; invalid UTF-8 in text closed 1007" {
  wserve_start
  run ws_raw "$WS_PORT" 2gb
  echo "$output"
  [ "${lines[0]}" = "close 1009 " ]
  [ "${lines[1]}" = eof ]
  run ws_raw "$WS_PORT" badutf8
  echo "$output"
  [[ "${lines[0]}" == "close 1007"* ]]  # wslay checks UTF-8 itself (reason empty)
  [ "${lines[1]}" = eof ]
  run ws_raw "$WS_PORT" binary-number
  [[ "${lines[0]}" =~ ^text\ (.*)$ ]]
  [[ "${BASH_REMATCH[1]}" =~ $(JSON_RE 1.500000) ]]
  # The server still answers others, and its memory did not grow by the 2 GiB.
  run ws_client "ws://127.0.0.1:$WS_PORT/" 7
  [[ "${lines[1]}" =~ $(JSON_RE 7.000000) ]]
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$WS_PID/status")
  echo "# peak RSS ${hwm} kB" >&3
  [ "$hwm" -lt 65536 ]
}

@test "ws: an idle WebSocket is closed (1000 idle) after --idle-timeout" {
  wserve_start --idle-timeout 1s
  run /usr/bin/python3 - "$WS_PORT" <<'PY'
import asyncio, sys, websockets
async def main():
    async with websockets.connect("ws://127.0.0.1:%s/" % sys.argv[1]) as ws:
        try: await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed as e: print("closed", e.rcvd.code, e.rcvd.reason)
asyncio.run(main())
PY
  [ "$output" = "closed 1000 idle" ]
}
