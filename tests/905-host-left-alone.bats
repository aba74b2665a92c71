#!/usr/bin/env bats
# make check leaves the host alone: scripts/install-deps in make check's mode and scripts/fetch-peers
# (into a fresh cache, so it really downloads and unpacks) change no package, no unit file, no
# user and no service of this machine; chrony and ntpsec are never installed as packages, and the
# peers the tests start run from the cache. The old install-deps, which installed chrony (and with
# it a time service replacing systemd-timesyncd), fails this.
load common

setup() {
  ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  SNAP=$BATS_TEST_TMPDIR/snap
  mkdir -p "$SNAP"
}

# snapshot NAME: what of this machine must not change.
snapshot() {
  local d=$SNAP/$1
  mkdir -p "$d"
  dpkg-query -W -f '${Package}:${Architecture} ${Version} ${Status}\n' | sort > "$d/packages"
  # unit files and how they are enabled (symlinks), SysV scripts
  find /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system /etc/init.d \
    \( -type f -o -type l \) -printf '%p -> %l\n' 2>/dev/null | sort > "$d/units"
  if [ -d /run/systemd/system ]; then  # a booted systemd: which services run
    systemctl list-units --type=service --state=active --no-legend --plain 2>/dev/null \
      | awk '{print $1}' | sort > "$d/services"
  else
    : > "$d/services"
  fi
  cut -d: -f1 /etc/passwd | sort > "$d/users"
  cut -d: -f1 /etc/group | sort > "$d/groups"
}

same() {  # same FILE: identical before and after, else show the difference
  diff -u "$SNAP/before/$1" "$SNAP/after/$1" >&2
}

@test "install-deps (make check's mode) and fetch-peers change no package, unit, service or user" {
  snapshot before
  # make check has already run install-deps: this is the run a second make check makes
  run "$ROOT/scripts/install-deps" --check --if-missing
  echo "$output"
  [ "$status" -eq 0 ]
  # and a first fetch into an empty cache: downloads and unpacks every peer
  run env TIMEPIPE_PEERS="$BATS_FILE_TMPDIR/peers" "$ROOT/scripts/fetch-peers"
  echo "$output"
  [ "$status" -eq 0 ]
  snapshot after
  same packages
  same units
  same services
  same users
  same groups
  # no time service came as a test peer
  ! grep -E '^(chrony|ntpsec|ntpsec-ntpdig|python3-ntp|ntp|ntpdate|openntpd|gpsd):[^ ]* [^ ]* install ok installed' \
    "$SNAP/after/packages"
  # the fresh cache's wrappers run the peers
  for p in chronyd chronyc ntpdig; do
    [ -x "$BATS_FILE_TMPDIR/peers/bin/$p" ]
  done
  "$BATS_FILE_TMPDIR/peers/bin/chronyd" --version | grep -q '^chronyd (chrony) version 4'
  "$BATS_FILE_TMPDIR/peers/bin/ntpdig" --help 2>&1 | grep -q 'USAGE:  ntpdig'
  # no maintainer script ran: the packages' own users and config were not made
  ! grep -qx _chrony "$SNAP/after/users"
}

@test "a second fetch-peers is a no-op that asks apt nothing" {
  TIMEPIPE_PEERS=$BATS_FILE_TMPDIR/peers "$ROOT/scripts/fetch-peers"   # a no-op after the test above
  stamp=$(cat "$BATS_FILE_TMPDIR/peers/chrony/stamp")
  # apt-get and apt-cache shadowed by failing stand-ins: the fast path must not need them
  mkdir -p "$BATS_TEST_TMPDIR/noapt"
  for c in apt-get apt-cache; do printf '#!/bin/sh\necho "%s called" >&2; exit 1\n' "$c" > "$BATS_TEST_TMPDIR/noapt/$c"; done
  chmod +x "$BATS_TEST_TMPDIR"/noapt/*
  run env PATH="$BATS_TEST_TMPDIR/noapt:$PATH" TIMEPIPE_PEERS="$BATS_FILE_TMPDIR/peers" "$ROOT/scripts/fetch-peers"
  echo "$output"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
  [ "$(cat "$BATS_FILE_TMPDIR/peers/chrony/stamp")" = "$stamp" ]
}

@test "the peers the tests start run from the cache, not from an installed package" {
  [ "$(command -v chronyd)" = "$TIMEPIPE_PEERS/bin/chronyd" ]
  [ "$(command -v chronyc)" = "$TIMEPIPE_PEERS/bin/chronyc" ]
  [ "$(command -v ntpdig)" = "$TIMEPIPE_PEERS/bin/ntpdig" ]
  p=$(free_port)
  start_chronyd_server "$p" 3
  pid=$(tail -n 1 "$PIDS_FILE")
  exe=$(readlink "/proc/$pid/exe")
  [[ $exe == "$TIMEPIPE_PEERS"/*/usr/sbin/chronyd ]]
  # its configuration is its own: no command socket under the packaged /run/chrony
  grep -q '^bindcmdaddress /$' "$CHRONY_DIR/chrony.conf"
}
