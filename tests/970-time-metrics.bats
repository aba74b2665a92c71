#!/usr/bin/env bats
# time-metrics(8): options, scrapes of fake status sockets (a Python AF_UNIX server handing out
# bytes timecat made from JSON lines), dead, silent and missing sockets as timepipe_up 0,
# restarts, HTTP (GET/HEAD /metrics, /, 404, 405, IPv4 and IPv6, the default port in a network
# namespace of the test's own), and promtool's check of the exposition.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd time-metrics
  require_cmd timecat
  require_cmd promtool
  require_cmd curl
  T=$BATS_TEST_TMPDIR
}

# snapshot OUT PID [RECEIVED]: an ntp-serve status snapshot (status, stats, a sample) as CBOR.
snapshot() {
  /usr/bin/python3 - "$2" "${3:-7}" <<'PY' | timecat -i json -o cbor > "$1"
import json, sys
pid, received = int(sys.argv[1]), int(sys.argv[2])
t = 1700000000 * 10**9
for r in [
    {"type": "status", "source": "ntp-serve", "time": t, "pid": pid, "started": t - 1000 * 10**9 + pid,
     "version": "0.1", "instance": "x.sock"},
    {"type": "stats", "source": "ntp-serve", "time": t,
     "counters": {"received": received, "answered": received - 1, "kod_rate": 1, "dropped_malformed": 2}},
    {"type": "sample", "source": "ntp://192.0.2.1:123", "time": t, "offset": 0.0125, "delay": 0.0003,
     "dispersion": 1e-6, "stratum": 2, "leap": 0, "refid": "192.0.2.7", "poll": 6,
     "root_delay": 0.001, "root_dispersion": 0.001},
]:
    r["v"] = 1
    print(json.dumps(r))
PY
}

# fake_socket PATH FILE|silent: a status socket answering each client with FILE's bytes (read
# again for each: replace it to change the answer) then EOF; "silent" accepts and says nothing.
fake_socket() {
  /usr/bin/python3 - "$1" "$2" <<'PY' &
import os, socket, sys, threading
path, what = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path + ".tmp"); os.rename(path + ".tmp", path); s.listen(16)
held = []
while True:
    c, _ = s.accept()
    if what == "silent":
        held.append(c)
        continue
    c.sendall(open(what, "rb").read()); c.close()
PY
  track_pid $!
  local i
  for i in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
  echo "fake socket $1 never appeared" >&2
  return 1
}

# A socket file nobody listens on (a tool that died): connect is refused.
dead_socket() {
  /usr/bin/python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$1"
}

# tm_start ARGS...: time-metrics in the background; TM_PID, stderr in $T/tm.err.
tm_start() {
  time-metrics -v "$@" 2> "$T/tm.err" &
  TM_PID=$!
  track_pid $TM_PID
}

@test "time-metrics -h, -V" {
  run --separate-stderr time-metrics -h
  [ "$status" -eq 0 ]
  [[ "$output" == usage:* ]]
  [[ "$output" == *--print* ]]
  run --separate-stderr time-metrics -V
  [ "$status" -eq 0 ]
  [[ "$output" == "time-metrics "* ]]
}

@test "time-metrics: bad options are one line on stderr, EX_USAGE" {
  run --separate-stderr time-metrics --bogus
  [ "$status" -eq 64 ]
  [ "$stderr" = "time-metrics: --bogus: unknown option (see -h)" ]
  run --separate-stderr time-metrics -t soon --print
  [ "$status" -eq 64 ]
  [[ "$stderr" == "time-metrics: -t: "* ]]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
  run --separate-stderr time-metrics extra
  [ "$status" -eq 64 ]
  [ "$stderr" = "time-metrics: extra: no operands expected (see -h)" ]
  run --separate-stderr time-metrics -l 127.0.0.1:99999
  [ "$status" -eq 64 ]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
  run --separate-stderr time-metrics --max-connections 0
  [ "$status" -eq 64 ]
  [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
}

@test "--print: a live socket's values; dead, silent and missing sockets are timepipe_up 0; promtool passes" {
  snapshot "$T/a.cbor" 4242 7
  fake_socket "$T/a.sock" "$T/a.cbor"
  fake_socket "$T/silent.sock" silent
  dead_socket "$T/dead.sock"
  run --separate-stderr time-metrics --print -t 300ms -s "$T/a.sock" -s "$T/dead.sock" -s "$T/silent.sock" -s "$T/missing.sock"
  [ "$status" -eq 0 ] || { echo "$stderr"; false; }
  echo "$output" > "$T/out.prom"
  grep -qx "timepipe_up{tool=\"ntp-serve\",socket=\"$T/a.sock\"} 1" "$T/out.prom"
  grep -qx "timepipe_up{tool=\"\",socket=\"$T/dead.sock\"} 0" "$T/out.prom"
  grep -qx "timepipe_up{tool=\"\",socket=\"$T/silent.sock\"} 0" "$T/out.prom"
  grep -qx "timepipe_up{tool=\"\",socket=\"$T/missing.sock\"} 0" "$T/out.prom"
  grep -qx "timepipe_ntp_server_requests_total{tool=\"ntp-serve\",socket=\"$T/a.sock\"} 7" "$T/out.prom"
  grep -qx "timepipe_ntp_server_responses_total{tool=\"ntp-serve\",socket=\"$T/a.sock\"} 6" "$T/out.prom"
  grep -qx "timepipe_ntp_server_kod_total{tool=\"ntp-serve\",socket=\"$T/a.sock\",code=\"RATE\"} 1" "$T/out.prom"
  grep -qx "timepipe_ntp_server_dropped_total{tool=\"ntp-serve\",socket=\"$T/a.sock\",reason=\"malformed\"} 2" "$T/out.prom"
  grep -qx "timepipe_source_offset_seconds{tool=\"ntp-serve\",socket=\"$T/a.sock\",source=\"ntp://192.0.2.1:123\"} 0.0125" "$T/out.prom"
  grep -qx "timepipe_source_stratum{tool=\"ntp-serve\",socket=\"$T/a.sock\",source=\"ntp://192.0.2.1:123\"} 2" "$T/out.prom"
  grep -qx "timepipe_source_poll_seconds{tool=\"ntp-serve\",socket=\"$T/a.sock\",source=\"ntp://192.0.2.1:123\"} 64" "$T/out.prom"
  run promtool check metrics < "$T/out.prom"
  [ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "--sockets DIR reads its *.sock and */*.sock, and no deeper; no sockets at all is still a valid scrape" {
  snapshot "$T/a.cbor" 11
  mkdir -p "$T/run/ntp-serve/deeper" "$T/empty"
  fake_socket "$T/run/top.sock" "$T/a.cbor"
  fake_socket "$T/run/ntp-serve/status.sock" "$T/a.cbor"
  fake_socket "$T/run/ntp-serve/deeper/no.sock" "$T/a.cbor"
  run --separate-stderr time-metrics --print -s "$T/run"
  [ "$status" -eq 0 ]
  [ "$(grep -c '^timepipe_up{' <<< "$output")" -eq 2 ]
  grep -qx "timepipe_up{tool=\"ntp-serve\",socket=\"$T/run/top.sock\"} 1" <<< "$output"
  grep -qx "timepipe_up{tool=\"ntp-serve\",socket=\"$T/run/ntp-serve/status.sock\"} 1" <<< "$output"
  run --separate-stderr time-metrics --print -s "$T/empty"
  [ "$status" -eq 0 ]
  printf '%s' "$output" > "$T/empty.prom"
  run promtool check metrics < "$T/empty.prom"
  [ "$status" -eq 0 ]
}

@test "HTTP: GET and HEAD /metrics with the 0.0.4 content type, / links to it, 404 elsewhere, 405 for POST; IPv4 and IPv6" {
  snapshot "$T/a.cbor" 4242 7
  fake_socket "$T/a.sock" "$T/a.cbor"
  port=$(free_port)
  tm_start -l "127.0.0.1:$port" -l "[::1]:$port" -s "$T/a.sock"
  wait_tcp_bound "$port"
  run curl -sS -D "$T/h" -o "$T/body" "http://127.0.0.1:$port/metrics"
  [ "$status" -eq 0 ]
  grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$T/h"
  grep -qx "timepipe_ntp_server_requests_total{tool=\"ntp-serve\",socket=\"$T/a.sock\"} 7" "$T/body"
  run curl -sS -o /dev/null -w '%{http_code} %{content_type}' "http://[::1]:$port/metrics"
  [ "$output" = "200 text/plain; version=0.0.4; charset=utf-8" ]
  run curl -sS -I "http://127.0.0.1:$port/metrics"
  [[ "$output" == "HTTP/1.1 200 OK"* ]]
  [[ "$output" == *"Content-Length: $(stat -c %s "$T/body")"* ]]
  run curl -sS "http://127.0.0.1:$port/"
  [[ "$output" == *'<a href="/metrics">'* ]]
  run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics/x"
  [ "$output" = 404 ]
  run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/favicon.ico"
  [ "$output" = 404 ]
  run curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/metrics"
  [ "$output" = 405 ]
  # Keep-alive: two scrapes on one connection, then the server is still there.
  run curl -sS -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' "http://127.0.0.1:$port/metrics" "http://127.0.0.1:$port/metrics"
  [ "${lines[0]}" = "200 1" ]
  [ "${lines[1]}" = "200 0" ]
  kill -0 "$TM_PID"
}

@test "HTTP scrapes see the socket change: counters move, a restart is counted, a socket that dies is up 0" {
  snapshot "$T/a.cbor" 100 7
  fake_socket "$T/a.sock" "$T/a.cbor"
  port=$(free_port)
  tm_start -l "127.0.0.1:$port" -s "$T/a.sock"
  wait_tcp_bound "$port"
  run curl -sS "http://127.0.0.1:$port/metrics"
  grep -qx "timepipe_tool_restarts_total{tool=\"ntp-serve\",socket=\"$T/a.sock\"} 0" <<< "$output"
  # Same process, more requests.
  snapshot "$T/b.cbor" 100 9 && mv "$T/b.cbor" "$T/a.cbor"
  run curl -sS "http://127.0.0.1:$port/metrics"
  grep -qx "timepipe_ntp_server_requests_total{tool=\"ntp-serve\",socket=\"$T/a.sock\"} 9" <<< "$output"
  grep -qx "timepipe_tool_restarts_total{tool=\"ntp-serve\",socket=\"$T/a.sock\"} 0" <<< "$output"
  # Another pid at the same socket: a restart.
  snapshot "$T/b.cbor" 101 1 && mv "$T/b.cbor" "$T/a.cbor"
  run curl -sS "http://127.0.0.1:$port/metrics"
  grep -qx "timepipe_tool_restarts_total{tool=\"ntp-serve\",socket=\"$T/a.sock\"} 1" <<< "$output"
  grep -qx "timepipe_ntp_server_requests_total{tool=\"ntp-serve\",socket=\"$T/a.sock\"} 1" <<< "$output"
  # The socket goes (the tool stopped): still a 200 scrape, up 0 under the tool's name.
  kill_tracked_but "$TM_PID"
  run curl -sS -o "$T/after" -w '%{http_code}' "http://127.0.0.1:$port/metrics"
  [ "$output" = 200 ]
  grep -qx "timepipe_up{tool=\"ntp-serve\",socket=\"$T/a.sock\"} 0" "$T/after"
}

# Kills every tracked process except $1 (the fake sockets), which stays tracked.
kill_tracked_but() {
  local pid
  while read -r pid; do
    [ "$pid" = "$1" ] || kill "$pid" 2>/dev/null || true
  done < "$PIDS_FILE"
  while read -r pid; do
    [ "$pid" = "$1" ] || { while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done; }
  done < "$PIDS_FILE"
}

@test "no --listen: 127.0.0.1:9975 and [::1]:9975, in a network namespace of the test's own" {
  [ "$(id -u)" -eq 0 ] || { echo "needs root for unshare -n" >&2; return 1; }
  snapshot "$T/a.cbor" 4242 7
  fake_socket "$T/a.sock" "$T/a.cbor"
  run -0 unshare -n /bin/sh -c '
    ip link set lo up || exit 1
    time-metrics -s "$1" 2> "$2" &
    pid=$!
    for i in $(seq 100); do [ "$(ss -Hnlt "sport = :9975" | wc -l)" -eq 2 ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    ss -Hnlt "sport = :9975" | awk "{print \$4}" | sort
    curl -sS -o /dev/null -w "%{http_code}\n" http://127.0.0.1:9975/metrics
    curl -sS -o /dev/null -w "%{http_code}\n" "http://[::1]:9975/metrics"
    curl -s -o /dev/null --connect-timeout 2 http://127.0.0.2:9975/metrics && echo answered || echo refused
    kill $pid; wait $pid; echo "exit=$?"
  ' sh "$T/a.sock" "$T/err"
  cat "$T/err"
  [ "${lines[0]}" = "127.0.0.1:9975" ]
  [ "${lines[1]}" = "[::1]:9975" ]
  [ "${lines[2]}" = 200 ]
  [ "${lines[3]}" = 200 ]
  [ "${lines[4]}" = refused ]   # loopback addresses only, not 127.0.0.0/8
  [ "${lines[5]}" = "exit=0" ]
}

@test "webntp-serve --status-socket: its counters reach time-metrics as timepipe_stats_total" {
  require_cmd webntp-serve
  port=$(free_port)
  webntp-serve -l "127.0.0.1:$port" --status-socket "$T/webntp.sock" --status-mode 0600 2> "$T/ws.err" &
  track_pid $!
  wait_tcp_bound "$port"
  [ "$(stat -c %a "$T/webntp.sock")" = 600 ]
  curl -sS -o /dev/null "http://127.0.0.1:$port/?1"
  curl -sS -o /dev/null "http://127.0.0.1:$port/?2"
  curl -sS -o /dev/null -I "http://127.0.0.1:$port/"
  curl -sS -o /dev/null -X POST "http://127.0.0.1:$port/"
  # The server publishes its counters once a second: wait for them (bounded), never a fixed sleep.
  local i out=""
  for i in $(seq 100); do
    out=$(time-metrics --print -s "$T/webntp.sock")
    grep -qx "timepipe_stats_total{tool=\"webntp-serve\",socket=\"$T/webntp.sock\",source=\"webntp-serve\",counter=\"bad_requests\"} 1" <<< "$out" && break
    sleep 0.1
  done
  echo "$out"
  grep -qx "timepipe_up{tool=\"webntp-serve\",socket=\"$T/webntp.sock\"} 1" <<< "$out"
  grep -qx "timepipe_stats_total{tool=\"webntp-serve\",socket=\"$T/webntp.sock\",source=\"webntp-serve\",counter=\"json\"} 2" <<< "$out"
  grep -qx "timepipe_stats_total{tool=\"webntp-serve\",socket=\"$T/webntp.sock\",source=\"webntp-serve\",counter=\"head\"} 1" <<< "$out"
  grep -qx "timepipe_stats_total{tool=\"webntp-serve\",socket=\"$T/webntp.sock\",source=\"webntp-serve\",counter=\"bad_requests\"} 1" <<< "$out"
  grep -qx "timepipe_stats_total{tool=\"webntp-serve\",socket=\"$T/webntp.sock\",source=\"webntp-serve\",counter=\"connections\"} 4" <<< "$out"
  # A second server on the same socket: "in use", and the first keeps it.
  run --separate-stderr webntp-serve -l "127.0.0.1:$(free_port)" --status-socket "$T/webntp.sock"
  [ "$status" -eq 69 ]
  [[ "$stderr" == *"in use"* ]]
  [ -S "$T/webntp.sock" ]
  run --separate-stderr webntp-serve --status-mode 999
  [ "$status" -eq 64 ]
}
