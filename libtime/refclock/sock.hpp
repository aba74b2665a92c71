// chrony's SOCK reference clock (refclock_sock.c): one datagram per sample, a native-layout
// struct sock_sample sent to the Unix datagram socket chronyd binds for `refclock SOCK PATH`.
// Pure encoding and decoding; the socket is libtime/sys/unix_datagram.hpp.
//
//   auto bytes = encode_sock(SockSample{.time = now, .offset = 0.0001});
//   auto s = decode_sock(bytes);     // EX_DATAERR "length 12, not 40", "magic ..."
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::refclock {

inline constexpr int kSockMagic = 0x534f434b;  // "SOCK"
// struct sock_sample { struct timeval tv; double offset; int pulse; int leap; int _pad; int magic; }
// on 64-bit Linux: 16 + 8 + 4 * 4 bytes.
inline constexpr std::size_t kSockSampleSize = 40;

struct SockSample {
    UnixNanos time = 0;   // local (system) time of the measurement; the datagram keeps microseconds
    double offset = 0;    // s, reference minus local
    bool pulse = false;   // a PPS edge: only the fraction of a second is known
    int leap = 0;         // 0 none, 1 insert, 2 delete (chrony knows no "unsynchronised" here)

    friend bool operator==(const SockSample&, const SockSample&) = default;
};

// `time` is truncated to the microsecond (struct timeval), `leap` must be 0-2 and `offset`
// finite: the caller checks, an out-of-range one is sent as given.
std::array<std::byte, kSockSampleSize> encode_sock(const SockSample& s);

// Exactly kSockSampleSize bytes with the magic, tv_usec 0-999999, leap 0-2, finite offset,
// as chrony checks them; errors name the field (EX_DATAERR).
Result<SockSample> decode_sock(std::span<const std::byte> datagram);

}  // namespace timepipe::refclock
