# Helpers for tests/75x-nts-*.bats: a test CA and server certificates made with openssl(1), a
# chronyd NTS server on loopback (chronyd -x: it never touches the clock), TCP readiness.

# make_test_pki DIR: tests/make-test-pki (the CA, a server certificate for localhost, 127.0.0.1
# and ::1, and a CA that signed nothing).
make_test_pki() { "$BATS_TEST_DIRNAME/make-test-pki" "$1"; }

# nts_setup: what an NTS server test needs (nts-ke, ntp-serve, openssl) and a fresh PKI in $PKI.
nts_setup() {
  require_cmd nts-ke
  require_cmd ntp-serve
  require_cmd openssl
  PKI=$BATS_TEST_TMPDIR/pki
  make_test_pki "$PKI"
}


# start_chronyd_nts_server NTP_PORT KE_PORT PKI_DIR: chronyd serving NTS on loopback (NTS-KE on
# KE_PORT, NTP on NTP_PORT), its cookie keys in its own directory. Sets CHRONY_DIR.
start_chronyd_nts_server() {
  local port=$1 ke_port=$2 pki=$3
  require_cmd chronyd
  CHRONY_DIR=$(mktemp -d "$BATS_TEST_TMPDIR/chrony-nts.XXXX")
  chmod 0755 "$CHRONY_DIR"
  cat > "$CHRONY_DIR/chrony.conf" <<CONF
port $port
bindaddress 127.0.0.1
local stratum 3
allow all
cmdport 0
bindcmdaddress /
pidfile $CHRONY_DIR/chronyd.pid
ntsserverkey $pki/server.key
ntsservercert $pki/server.crt
ntsport $ke_port
ntsdumpdir $CHRONY_DIR
CONF
  chronyd -x -d -u root -f "$CHRONY_DIR/chrony.conf" > "$CHRONY_DIR/log" 2>&1 &
  track_pid $!
  wait_udp_bound "$port" && wait_tcp_bound "$ke_port"
}

# start_chronyd_nts_client SERVER KE_PORT PKI_DIR [CHRONYD_FLAG...]: a chronyd that gets its
# keys from the NTS-KE server SERVER:KE_PORT (trusting PKI_DIR/ca.crt), then polls the NTP server
# that names, every 0.25 s, never adjusting the clock (-x). Flags like -4/-6 go to chronyd.
# Sets CHRONY_DIR; query it with chronyc_client.
start_chronyd_nts_client() {
  local server=$1 ke_port=$2 pki=$3
  shift 3
  require_cmd chronyd
  CHRONY_DIR=$(mktemp -d "$BATS_TEST_TMPDIR/chrony-ntsc.XXXX")
  chmod 0700 "$CHRONY_DIR"  # chronyd disables a command socket in a directory others can read
  cat > "$CHRONY_DIR/chrony.conf" <<CONF
server $server iburst nts ntsport $ke_port minpoll -2 maxpoll -2
ntstrustedcerts $pki/ca.crt
ntsdumpdir $CHRONY_DIR
port 0
bindcmdaddress $CHRONY_DIR/chronyd.sock
pidfile $CHRONY_DIR/chronyd.pid
CONF
  chronyd -x -d -u root "$@" -f "$CHRONY_DIR/chrony.conf" > "$CHRONY_DIR/log" 2>&1 &
  track_pid $!
}

# start_nts_server KE_PORT NTP_PORT KEYS [NTP_HOST]: nts-ke --serve on 127.0.0.1:KE_PORT sending
# clients to NTP_HOST:NTP_PORT (default 127.0.0.1), and an ntp-serve --stratum 2 --nts-keys KEYS
# on 127.0.0.1:NTP_PORT, both with the PKI made by make_test_pki in $PKI. Sets KE_PID, SERVE_PID
# and their logs $BATS_TEST_TMPDIR/nts-ke.err, $BATS_TEST_TMPDIR/ntp-serve.err.
start_nts_server() {
  local ke_port=$1 port=$2 keys=$3 host=${4:-127.0.0.1}
  nts-ke --serve --cert "$PKI/server.crt" --key "$PKI/server.key" --keys "$keys" -l "127.0.0.1:$ke_port" \
    --ntp-server "$host:$port" -v 2> "$BATS_TEST_TMPDIR/nts-ke.err" &
  KE_PID=$!
  track_pid "$KE_PID"
  wait_tcp_bound "$ke_port"
  ntp-serve -l "127.0.0.1:$port" -s 2 --nts-keys "$keys" 2> "$BATS_TEST_TMPDIR/ntp-serve.err" &
  SERVE_PID=$!
  track_pid "$SERVE_PID"
  wait_udp_bound "$port"
}

# counters_of PID LOG: SIGUSR1 to a server, then its counters line from LOG.
counters_of() {
  local pid=$1 log=$2 before
  before=$(grep -c counters "$log" 2>/dev/null || true)
  kill -USR1 "$pid"
  for _ in $(seq 100); do
    [ "$(grep -c counters "$log")" -gt "$before" ] && break
    sleep 0.1
  done
  grep counters "$log" | tail -1
}

# counter NAME LINE: the value of NAME=... in a counters line.
counter() { local v=${2##*" $1="}; echo "${v%% *}"; }

# wait_authenticated: the chronyd of CHRONY_DIR says "Authenticated : Yes" within ~20 s; shows
# its NTS state and log if not.
wait_authenticated() {
  for _ in $(seq 100); do
    chronyc_client ntpdata 2>/dev/null | grep -q '^Authenticated *: Yes' && return 0
    sleep 0.2
  done
  chronyc_client authdata >&2; chronyc_client ntpdata >&2; cat "$CHRONY_DIR/log" >&2
  return 1
}
