# Helpers for tests/75x-nts-*.bats: a test CA and server certificates made with openssl(1), a
# chronyd NTS server on loopback (chronyd -x: it never touches the clock), TCP readiness.

# make_test_pki DIR: DIR/ca.crt (the CA to trust), DIR/server.crt and DIR/server.key for
# localhost, 127.0.0.1 and ::1 (EC P-256, 30 days), DIR/other-ca.crt (a CA that signed nothing).
make_test_pki() {
  local d=$1
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
      -days 30 -subj "/CN=timepipe test CA" 2>/dev/null
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-ca.key \
      -out other-ca.crt -days 30 -subj "/CN=timepipe other CA" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
      -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n' > san.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
      -days 30 -extfile san.ext 2>/dev/null
    chmod 0644 server.key  # chronyd reads it after dropping nothing (-u root); tests only
  )
  [ -s "$d/server.crt" ] && [ -s "$d/ca.crt" ]
}

# Wait until a TCP port on loopback accepts connections (up to ~20 s).
wait_tcp_listening() {  # wait_tcp_listening PORT
  local i
  for i in $(seq 200); do
    ss -Hnlt "sport = :$1" | grep -q . && return 0
    sleep 0.1
  done
  echo "nothing listening on tcp port $1" >&2
  return 1
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
  wait_udp_bound "$port" && wait_tcp_listening "$ke_port"
}
