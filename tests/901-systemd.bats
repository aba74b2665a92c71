#!/usr/bin/env bats
# Packaging: every unit in contrib/systemd passes `systemd-analyze verify` against the built
# binaries and scores an exposure of at most 2.0 with `systemd-analyze security --offline=yes`.
load common

UNITS_DIR=$BATS_TEST_DIRNAME/../contrib/systemd
MAX_EXPOSURE=2.0

setup() {
  require_cmd systemd-analyze
  # --offline appeared in systemd 250; Debian 12 has 252.
  systemd-analyze security --help 2>&1 | grep -q -- '--offline' || {
    echo "systemd-analyze $(systemd-analyze --version | head -1) lacks security --offline" >&2
    return 1
  }
}

# The units under test; an empty directory is a failure, not a pass.
units() {
  local u found=0
  for u in "$UNITS_DIR"/*.service; do
    [ -f "$u" ] || continue
    found=1
    echo "$u"
  done
  [ "$found" -eq 1 ] || { echo "no units in $UNITS_DIR" >&2; return 1; }
}

# unit_copy UNIT: a copy in $BATS_TEST_TMPDIR whose /usr/local/{bin,sbin}/NAME paths point at
# $TIMEPIPE_BUILD/bin/NAME (the Makefile's install target rewrites /usr/local to PREFIX the same
# way). Prints the copy's path.
unit_copy() {
  local copy
  copy=$BATS_TEST_TMPDIR/$(basename "$1")
  sed -E "s#/usr/local/s?bin/([A-Za-z0-9_.-]+)#$TIMEPIPE_BUILD/bin/\\1#g" "$1" > "$copy"
  echo "$copy"
}

# built_binaries COPY: fails, naming each one, if a binary the unit runs is not built.
built_binaries() {
  local bin missing=0
  for bin in $(sed -nE "s#.*($TIMEPIPE_BUILD/bin/[A-Za-z0-9_.-]+).*#\\1#p" "$1" | sort -u); do
    if [ ! -x "$bin" ]; then
      echo "$(basename "$1"): $bin is not built (run make; is tools/$(basename "$bin")/main.cpp there?)" >&2
      missing=1
    fi
  done
  return "$missing"
}

@test "systemd units verify against the built binaries" {
  local u copy out list rc=0
  list=$(units) || return 1
  # every unit beside the copies: verify looks a unit's Requires= up in its directory
  for u in "$UNITS_DIR"/*.socket "$UNITS_DIR"/*.service; do [ -f "$u" ] && unit_copy "$u" > /dev/null; done
  for u in $list; do
    copy=$(unit_copy "$u")
    built_binaries "$copy" || { rc=1; continue; }
    # --man=no: the man pages are in the tree, not installed where man(1) would find them.
    if ! out=$(systemd-analyze verify --man=no "$copy" 2>&1) || [ -n "$out" ]; then
      echo "$(basename "$u"): systemd-analyze verify:" >&2
      echo "$out" >&2
      rc=1
    fi
  done
  return "$rc"
}

@test "systemd units have an exposure of at most $MAX_EXPOSURE" {
  local u copy out level list rc=0
  list=$(units) || return 1
  for u in $list; do
    copy=$(unit_copy "$u")
    out=$(systemd-analyze security --offline=yes "$copy" 2>&1) || true
    level=$(printf '%s\n' "$out" | sed -nE 's/.*Overall exposure level for [^:]*: ([0-9]+\.[0-9]+).*/\1/p')
    if [ -z "$level" ]; then
      echo "$(basename "$u"): no exposure level in systemd-analyze output:" >&2
      echo "$out" >&2
      rc=1
      continue
    fi
    echo "# $(basename "$u"): exposure $level (limit $MAX_EXPOSURE)" >&3
    if awk -v l="$level" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(l > m) }'; then
      echo "$(basename "$u"): exposure $level > $MAX_EXPOSURE; what still counts against it:" >&2
      printf '%s\n' "$out" | grep '✗' >&2
      rc=1
    fi
  done
  return "$rc"
}
