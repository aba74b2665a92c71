#!/usr/bin/env bats
# webntp-query(1) against our own webntp-serve(8) (the independent peers are in 880): a server
# whose --upstream says the clock is 3 s behind is measured 3 s ahead over http, ws, https and wss.
bats_require_minimum_version 1.5.0
load common
load 870-webntp-lib

setup() {
  require_cmd webntp-query
  require_cmd webntp-serve
  require_cmd timecat
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

field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
near() { /usr/bin/python3 -c 'import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(0 if abs(a-b)<=t else 1)' "$1" "$2" "$3"; }

# offset_ok JSON EXPECTED: the record's offset within half its delay (+ 2 ms) of EXPECTED: each
# sample's error is at most half its round trip, so is the average's; a loaded machine widens it.
offset_ok() {
  /usr/bin/python3 -c 'import json,sys; r=json.loads(sys.argv[1]); e=float(sys.argv[2]); d=abs(r["offset"]-e); print("offset error %.6f s, bound %.6f s" % (d, r["delay"]/2+0.002)); sys.exit(0 if d <= r["delay"]/2+0.002 else 1)' "$1" "$2"
}

# serve_ahead [webntp-serve options]: webntp-serve serving local clock + 3 s.
serve_ahead() {
  sample 3.0 > "$BATS_TEST_TMPDIR/up.cbor"
  wserve_start --upstream "$BATS_TEST_TMPDIR/up.cbor" "$@"
  local i
  for i in $(seq 50); do grep -q "synchronised to" "$WS_ERR" && break; sleep 0.1; done
}

@test "webntp-serve over http and ws: the 3 s offset it serves" {
  serve_ahead
  for url in "http://127.0.0.1:$WS_PORT/" "ws://127.0.0.1:$WS_PORT/"; do
    run --separate-stderr webntp-query -p 2 -o json "$url"
    echo "$url: $output $stderr"
    [ "$status" -eq 0 ]
    offset_ok "$output" 3.0
    [ "$(field "$output" auth)" = none ]
    [ "$(field "$output" source)" = "$url" ]
  done
}

@test "webntp-serve over https and wss with the test CA; another CA refused" {
  "$TESTS_DIR/make-test-pki" "$BATS_TEST_TMPDIR/pki"
  serve_ahead --cert "$BATS_TEST_TMPDIR/pki/server.crt" --key "$BATS_TEST_TMPDIR/pki/server.key"
  for url in "https://localhost:$WS_PORT/" "wss://localhost:$WS_PORT/"; do
    run --separate-stderr webntp-query -p 2 -o json --ca-file "$BATS_TEST_TMPDIR/pki/ca.crt" "$url"
    echo "$url: $output $stderr"
    [ "$status" -eq 0 ]
    offset_ok "$output" 3.0
    [ "$(field "$output" auth)" = tls ]
    run --separate-stderr webntp-query -p 1 -o json --ca-file "$BATS_TEST_TMPDIR/pki/other-ca.crt" "$url"
    [ "$status" -eq 69 ]
    [[ "$stderr" == *certificate* ]]
  done
}
