# Shell helpers the server benchmarks share (sourced by bench/ntp-serve-vs-chronyd and
# bench/nts-vs-chronyd). The sourcing script sets $prog and $pin (1: pin servers to CPU 1 and load
# generators to CPU 0) and calls bench_setup once; every process it records with bench_track is
# killed by PID on exit, and $tmp is removed.

PY=/usr/bin/python3
hz=$(getconf CLK_TCK)

die() { echo "$prog: $1" >&2; exit "${2:-1}"; }

bench_setup() {  # bench_setup: $tmp, the exit trap, chronyd on PATH
  tmp=$(mktemp -d "/tmp/$prog.XXXXXX")
  chmod 0755 "$tmp"
  bench_pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  PATH="${TIMEPIPE_PEERS:-/var/cache/timepipe/peers}/bin:$PATH"  # chronyd from scripts/fetch-peers' cache
}
bench_track() { bench_pids+=("$@"); }
bench_cleanup() {
  local p
  for p in ${bench_pids[@]+"${bench_pids[@]}"}; do kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in ${bench_pids[@]+"${bench_pids[@]}"}; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}

free_port() {  # a free port on 127.0.0.1, UDP by default, TCP with "tcp"
  "$PY" - "${1:-udp}" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if sys.argv[1] == "tcp" else socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])
PY
}

on_cpu() {  # on_cpu N CMD...: pinned to CPU N unless not pinning
  local cpu=$1; shift
  if [ "$pin" = 1 ]; then taskset -c "$cpu" "$@"; else "$@"; fi
}

# CPU time (clock ticks) of a process and its direct children, all threads: /proc/PID/stat
# fields 14 (utime) and 15 (stime) count the whole thread group.
cpu_ticks() {
  local pid=$1 total=0 p f
  local all=("$pid")
  for f in /proc/"$pid"/task/*/children; do
    [ -r "$f" ] && all+=($(cat "$f" 2>/dev/null))
  done
  for p in "${all[@]}"; do
    [ -r "/proc/$p/stat" ] || continue
    # the command name (field 2) may hold spaces: cut after the last ')'
    local rest; rest=$(sed 's/^.*) //' "/proc/$p/stat")
    set -- $rest
    total=$((total + ${12} + ${13}))  # fields 14 and 15 counting from 3
  done
  echo "$total"
}

chrony_conf() {  # chrony_conf NAME PORT [EXTRA]: $tmp/NAME.conf, a chronyd serving on 127.0.0.1:PORT
  cat > "$tmp/$1.conf" <<CONF
port $2
bindaddress 127.0.0.1
local stratum 2
allow all
cmdport 0
bindcmdaddress /
pidfile $tmp/$1.pid
driftfile $tmp/$1.drift
${3:-}
CONF
  echo "$tmp/$1.conf"
}
