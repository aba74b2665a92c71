// NTP time formats (RFC 5905 §6): the 64-bit timestamp (32.32 seconds since 1900, modulo one
// 136-year era) and the 32-bit short format (16.16, for root delay / root dispersion).
//
//   using namespace timepipe::ntp;
//   NtpTimestamp t = from_unix_nanos(now_ns);                 // encode for the wire
//   UnixNanos back = to_unix_nanos(t, now_ns);                // decode: era chosen near now_ns
//   std::int64_t d = diff_fixed(t4, t1);                      // 2^-32 s units, era-safe
//   double s = fixed_to_seconds(d);  std::int64_t ns = fixed_to_nanos(d);
//
// Conversions between fractions and nanoseconds round to nearest, so UnixNanos -> NtpTimestamp
// -> UnixNanos is the identity (one fraction unit is 0.23 ns).
#pragma once

#include <cstdint>

#include "libtime/base/unix_time.hpp"

namespace timepipe::ntp {

// Seconds from 1900-01-01 (NTP era 0 start) to 1970-01-01 (Unix epoch).
inline constexpr std::int64_t kNtpToUnixSeconds = 2'208'988'800;

// 32.32 fixed point: seconds within an era in the high word, fraction in the low word.
struct NtpTimestamp {
    std::uint64_t raw = 0;

    static constexpr NtpTimestamp from_parts(std::uint32_t seconds, std::uint32_t fraction) {
        return {(std::uint64_t{seconds} << 32) | fraction};
    }
    constexpr std::uint32_t seconds() const { return static_cast<std::uint32_t>(raw >> 32); }
    constexpr std::uint32_t fraction() const { return static_cast<std::uint32_t>(raw); }
    constexpr bool is_zero() const { return raw == 0; }
    friend constexpr bool operator==(NtpTimestamp, NtpTimestamp) = default;
};

// 16.16 fixed point, unsigned (root delay and root dispersion are never negative on the wire).
struct NtpShort {
    std::uint32_t raw = 0;
    friend constexpr bool operator==(NtpShort, NtpShort) = default;
};

// Fraction of a second <-> nanoseconds, round to nearest. frac_to_nanos may return 1e9 for
// fractions within half a nanosecond of the next second; callers add it to whole seconds.
std::uint32_t nanos_to_frac(std::uint32_t nanos);   // nanos < 1e9
std::uint32_t frac_to_nanos(std::uint32_t frac);

// The era containing `t` is implied; any instant representable as UnixNanos encodes.
NtpTimestamp from_unix_nanos(UnixNanos t);

// Picks the era that puts the result within [pivot - 2^31 s, pivot + 2^31 s), so timestamps
// from 2036-02-07T06:28:16Z on (era 1) decode correctly given a recent pivot. Saturates at the
// UnixNanos range (years 1677..2262) instead of overflowing.
UnixNanos to_unix_nanos(NtpTimestamp ts, UnixNanos pivot);

// a - b in units of 2^-32 s, computed modulo 2^64 as RFC 5905 does: exact whenever the true
// difference is within ±2^31 s, whichever eras a and b lie in.
constexpr std::int64_t diff_fixed(NtpTimestamp a, NtpTimestamp b) {
    return static_cast<std::int64_t>(a.raw - b.raw);  // two's-complement wrap is well defined
}
// Signed 2^-32 s units -> nanoseconds (round to nearest) / seconds.
std::int64_t fixed_to_nanos(std::int64_t fixed);
double fixed_to_seconds(std::int64_t fixed);
inline std::int64_t diff_nanos(NtpTimestamp a, NtpTimestamp b) { return fixed_to_nanos(diff_fixed(a, b)); }

// Short format. from_* round to nearest and clamp to [0, 65536 - 2^-16] s; NaN gives 0.
double short_to_seconds(NtpShort s);
std::int64_t short_to_nanos(NtpShort s);
NtpShort short_from_seconds(double seconds);
NtpShort short_from_nanos(std::int64_t nanos);

}  // namespace timepipe::ntp
