#!/usr/bin/env bats
# make install puts tools, pages, units, headers, the static library and a working pkg-config
# file under DESTDIR/PREFIX; a program built against the installed copy runs.
load common

setup() {
  ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  BUILD_NAME=$(basename "$TIMEPIPE_BUILD")
  SAN_ARG=""
  case $BUILD_NAME in *san*) SAN_ARG="SAN=1" ;; esac
  DEST=$BATS_TEST_TMPDIR/dest
}

@test "make install lays out every kind of file under DESTDIR/PREFIX" {
  run make -s -C "$ROOT" BUILD="$BUILD_NAME" $SAN_ARG DESTDIR="$DEST" PREFIX=/usr install
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  for t in "$ROOT"/tools/*/; do
    t=$(basename "$t")
    if [ -f "$ROOT/man/$t.8" ]; then
      [ -x "$DEST/usr/sbin/$t" ] && [ -f "$DEST/usr/share/man/man8/$t.8" ]
    else
      [ -x "$DEST/usr/bin/$t" ] && [ -f "$DEST/usr/share/man/man1/$t.1" ]
    fi
  done
  [ -f "$DEST/usr/share/man/man5/time-stream.5" ]
  [ -f "$DEST/usr/share/man/man7/timepipe.7" ]
  [ -f "$DEST/usr/lib/libtime.a" ]
  [ -f "$DEST/usr/include/libtime/ntp/packet.hpp" ]
  [ -f "$DEST/usr/include/libtime/stream/codec.hpp" ]
  grep -q '^ExecStart=/usr/sbin/ntp-serve' "$DEST/usr/lib/systemd/system/ntp-serve.service"
  [ -f "$DEST/usr/lib/systemd/system/clockadj.socket" ]
  grep -q '^ExecStart=/usr/sbin/clockadj' "$DEST/usr/lib/systemd/system/clockadj.service"
  grep -q "^ExecStart=/bin/sh -c 'exec /usr/bin/ntp-query .* | /usr/bin/discipline " "$DEST/usr/lib/systemd/system/timepipe-client.service"
  grep -q '^g timepipe -$' "$DEST/usr/lib/sysusers.d/timepipe.conf"
  grep -q '^prefix=/usr$' "$DEST/usr/lib/pkgconfig/libtime.pc"
}

@test "a program builds against the installed libtime through pkg-config and runs" {
  make -s -C "$ROOT" BUILD="$BUILD_NAME" $SAN_ARG DESTDIR="$DEST" PREFIX=/usr install
  cat > "$BATS_TEST_TMPDIR/probe.cpp" <<'CPP'
#include <libtime/ntp/packet.hpp>
#include <libtime/stream/codec.hpp>
#include <cstdio>
int main() {
    std::array<std::byte, 48> wire{};
    wire[0] = std::byte{0x23};  // LI 0, version 4, mode 3
    auto packet = timepipe::ntp::parse(wire);
    if (!packet) return 1;
    timepipe::Record r = {{"v", 1}, {"type", "probe"}};
    auto bytes = timepipe::encode_record(r);
    if (!bytes) return 2;
    std::printf("mode=%d cbor=%zu\n", static_cast<int>(packet->header.mode), bytes->size());
}
CPP
  pc="pkg-config --define-variable=prefix=$DEST/usr"
  export PKG_CONFIG_PATH=$DEST/usr/lib/pkgconfig
  san=""; [ -z "$SAN_ARG" ] || san="-fsanitize=address,undefined"
  run g++ $san $($pc --cflags libtime) "$BATS_TEST_TMPDIR/probe.cpp" -o "$BATS_TEST_TMPDIR/probe" $($pc --static --libs libtime)
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  run "$BATS_TEST_TMPDIR/probe"
  [ "$status" -eq 0 ]
  [ "$output" = "mode=3 cbor=15" ]
}
