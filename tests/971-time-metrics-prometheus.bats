#!/usr/bin/env bats
# time-metrics(8) scraped by a real Prometheus (Debian's 2.42, from the peer cache; its own
# config, data directory and port in the test's temp dir, never /etc/prometheus or port 9090)
# after a real exchange on loopback: ntp-serve answering ntp-query (one-shot, then --follow
# feeding discipline), each with --status-socket. Prometheus's query API must return the series
# with the values the tools' own streams say: ntp-serve's request counter is what the clients
# sent, the source's offset is the newest sample's, the discipline's selection mark is there,
# every tool is up.
bats_require_minimum_version 1.5.0
load common

setup() {
  require_cmd time-metrics
  require_cmd ntp-serve
  require_cmd ntp-query
  require_cmd discipline
  require_cmd timecat
  require_cmd prometheus
  require_cmd curl
  T=$BATS_TEST_TMPDIR
}

# prom_query EXPR: the result vector as lines "LABELS_JSON VALUE" (labels sorted), from the
# Prometheus started by the test.
prom_query() {
  curl -sS --get "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
    /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["status"] == "success", r
for s in r["data"]["result"]:
    m = {k: v for k, v in s["metric"].items() if k not in ("job", "instance")}
    print(json.dumps(m, sort_keys=True, separators=(",", ":")), s["value"][1])'
}

# prom_wait EXPR WANT: polls the query (up to ~60 s: Prometheus starts, then scrapes every
# second) until its output is exactly WANT; prints the last answer when it never is.
prom_wait() {
  local i out=""
  for i in $(seq 600); do
    out=$(prom_query "$1" 2>/dev/null) || true
    [ "$out" = "$2" ] && return 0
    sleep 0.1
  done
  echo "query $1: wanted [$2], last got [$out]" >&2
  return 1
}

@test "a real Prometheus scrapes time-metrics after ntp-serve answered ntp-query: counters, offset, selection, up" {
  mkdir -p "$T/run/ntp-serve" "$T/run/client" "$T/data"
  NTP_PORT=$(free_port)
  METRICS_PORT=$(free_port)
  PROM_PORT=$(free_port)
  SERVER="127.0.0.1:$NTP_PORT"
  SOURCE="ntp://$SERVER"

  ntp-serve -l "$SERVER" -s 3 --status-socket "$T/run/ntp-serve/status.sock" 2> "$T/serve.err" &
  track_pid $!
  wait_udp_bound "$NTP_PORT"
  # Three one-shot exchanges (one summary sample), then a follower: one request now, the next after minpoll (64 s),
  # so the numbers hold still while Prometheus scrapes.
  ntp-query -n 3 -o cbor "$SERVER" > "$T/oneshot.cbor"
  ntp-query --follow -o cbor --status-socket "$T/run/client/ntp-query.sock" "$SERVER" 2> "$T/query.err" |
    tee "$T/follow.cbor" |
    discipline -o cbor --status-socket "$T/run/client/discipline.sock" > "$T/discipline.cbor" 2> "$T/discipline.err" &
  track_pid $!
  # $! is the pipeline's last process; the others are found by their command lines, which
  # name this test's own directory, and killed by pid in teardown like it.
  local p
  for p in $(pgrep -f -- "--status-socket $T/run/client/ntp-query.sock") $(pgrep -f -- "tee $T/follow.cbor"); do
    track_pid "$p"
  done

  time-metrics -v -l "127.0.0.1:$METRICS_PORT" -s "$T/run" 2> "$T/tm.err" &
  track_pid $!
  wait_tcp_bound "$METRICS_PORT"

  cat > "$T/prom.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: timepipe
    static_configs:
      - targets: ['127.0.0.1:$METRICS_PORT']
EOF
  prometheus --config.file="$T/prom.yml" --storage.tsdb.path="$T/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn 2> "$T/prom.err" &
  track_pid $!
  wait_tcp_bound "$PROM_PORT"

  # Every tool is up, under its own name and socket.
  prom_wait 'timepipe_up' "$(printf '%s\n' \
    "{\"__name__\":\"timepipe_up\",\"socket\":\"$T/run/client/discipline.sock\",\"tool\":\"discipline\"} 1" \
    "{\"__name__\":\"timepipe_up\",\"socket\":\"$T/run/client/ntp-query.sock\",\"tool\":\"ntp-query\"} 1" \
    "{\"__name__\":\"timepipe_up\",\"socket\":\"$T/run/ntp-serve/status.sock\",\"tool\":\"ntp-serve\"} 1" | sort)"

  # What the clients' own streams say they sent: the one-shot's summary sample has one reach bit
  # per answered exchange; each of the follower's samples is one exchange.
  oneshot=$(timecat -o json "$T/oneshot.cbor" | grep '"type":"sample"' |
    /usr/bin/python3 -c 'import json, sys; print(sum(bin(json.loads(l)["reach"]).count("1") for l in sys.stdin))')
  [ "$oneshot" -eq 3 ]
  prom_wait "count(timepipe_source_offset_seconds{tool=\"ntp-query\"})" "{} 1"
  followed=$(timecat -o json "$T/follow.cbor" | grep -c '"type":"sample"')
  [ "$followed" -eq 1 ]
  sent=$((oneshot + followed))
  prom_wait "timepipe_ntp_server_requests_total{tool=\"ntp-serve\"}" \
    "{\"__name__\":\"timepipe_ntp_server_requests_total\",\"socket\":\"$T/run/ntp-serve/status.sock\",\"tool\":\"ntp-serve\"} $sent"
  prom_wait "timepipe_ntp_server_responses_total{tool=\"ntp-serve\"}" \
    "{\"__name__\":\"timepipe_ntp_server_responses_total\",\"socket\":\"$T/run/ntp-serve/status.sock\",\"tool\":\"ntp-serve\"} $sent"

  # The source's offset and stratum are the newest sample's in the follower's stream.
  want=$(timecat -o json "$T/follow.cbor" | grep '"type":"sample"' | tail -1 |
    /usr/bin/python3 -c 'import json, sys; r = json.load(sys.stdin); print(repr(r["offset"]), r["stratum"])')
  run prom_query "timepipe_source_offset_seconds{tool=\"ntp-query\"}"
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" == "{\"__name__\":\"timepipe_source_offset_seconds\",\"socket\":\"$T/run/client/ntp-query.sock\",\"source\":\"$SOURCE\",\"tool\":\"ntp-query\"} "* ]]
  got=${lines[0]##* }
  /usr/bin/python3 -c 'import sys; got, want = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if got == want else 1)' "$got" "${want% *}" ||
    { echo "offset: Prometheus has $got, the stream $want" >&2; false; }
  run prom_query "timepipe_source_stratum{tool=\"ntp-query\"}"
  [ "${lines[0]##* }" = 3 ]
  [ "${want#* }" = 3 ]

  # discipline: one selection mark set for the source, the five others 0.
  prom_wait "sum(timepipe_source_state{tool=\"discipline\",source=\"$SOURCE\"})" "{} 1"
  run prom_query "count(timepipe_source_state{tool=\"discipline\",source=\"$SOURCE\"})"
  [ "$output" = "{} 6" ]
  # Nobody restarted; time-metrics's own labels are the tools' (job and instance are Prometheus's).
  run prom_query 'sum(timepipe_tool_restarts_total)'
  [ "$output" = "{} 0" ]
  run prom_query "timepipe_tool_info{tool=\"ntp-serve\"}"
  [[ "$output" == "{\"__name__\":\"timepipe_tool_info\",\"socket\":\"$T/run/ntp-serve/status.sock\",\"tool\":\"ntp-serve\",\"version\":\""*"\"} 1" ]]
  # Prometheus itself saw every scrape succeed.
  run prom_query 'up{job="timepipe"}'
  [ "$output" = "{\"__name__\":\"up\"} 1" ]
}
