#include "libtime/ntp/timestamp.hpp"

#include <cmath>
#include <limits>

namespace timepipe::ntp {
namespace {

constexpr std::uint64_t kNs = 1'000'000'000;

constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

std::uint32_t nanos_to_frac(std::uint32_t nanos) {
    // nanos < 1e9 < 2^30, so the shifted value fits and the result never reaches 2^32
    // (999'999'999 ns rounds to 2^32 - 4).
    return static_cast<std::uint32_t>(((std::uint64_t{nanos} << 32) + kNs / 2) / kNs);
}

std::uint32_t frac_to_nanos(std::uint32_t frac) {
    return static_cast<std::uint32_t>((std::uint64_t{frac} * kNs + (std::uint64_t{1} << 31)) >> 32);
}

NtpTimestamp from_unix_nanos(UnixNanos t) {
    const std::int64_t unix_sec = floor_div(t, kNanosPerSecond);
    const auto sub = static_cast<std::uint32_t>(t - unix_sec * kNanosPerSecond);
    // Conversion to uint32 keeps the value modulo 2^32: the era number is dropped on the wire.
    const auto sec = static_cast<std::uint32_t>(unix_sec + kNtpToUnixSeconds);
    return NtpTimestamp::from_parts(sec, nanos_to_frac(sub));
}

UnixNanos to_unix_nanos(NtpTimestamp ts, UnixNanos pivot) {
    const std::int64_t pivot_ntp = floor_div(pivot, kNanosPerSecond) + kNtpToUnixSeconds;
    // Signed distance from the pivot's second within one era: [-2^31, 2^31).
    const auto delta = static_cast<std::int32_t>(ts.seconds() - static_cast<std::uint32_t>(pivot_ntp));
    const std::int64_t unix_sec = pivot_ntp + delta - kNtpToUnixSeconds;
    std::int64_t ns = 0;
    if (__builtin_mul_overflow(unix_sec, kNanosPerSecond, &ns) ||
        __builtin_add_overflow(ns, std::int64_t{frac_to_nanos(ts.fraction())}, &ns)) {
        return unix_sec < 0 ? std::numeric_limits<UnixNanos>::min() : std::numeric_limits<UnixNanos>::max();
    }
    return ns;
}

std::int64_t fixed_to_nanos(std::int64_t fixed) {
    // Floor seconds plus a non-negative fraction: |seconds| < 2^31, so seconds * 1e9 fits.
    const std::int64_t sec = fixed >> 32;  // arithmetic shift (C++20)
    const auto frac = static_cast<std::uint32_t>(fixed);
    return sec * kNanosPerSecond + frac_to_nanos(frac);
}

double fixed_to_seconds(std::int64_t fixed) { return std::ldexp(static_cast<double>(fixed), -32); }

double short_to_seconds(NtpShort s) { return std::ldexp(static_cast<double>(s.raw), -16); }

std::int64_t short_to_nanos(NtpShort s) {
    return static_cast<std::int64_t>((std::uint64_t{s.raw} * kNs + (std::uint64_t{1} << 15)) >> 16);
}

NtpShort short_from_seconds(double seconds) {
    if (!(seconds > 0.0)) return {0};  // also NaN
    const double units = std::round(std::ldexp(seconds, 16));
    if (units >= 4294967295.0) return {0xFFFF'FFFFu};
    return {static_cast<std::uint32_t>(units)};
}

NtpShort short_from_nanos(std::int64_t nanos) {
    if (nanos <= 0) return {0};
    constexpr std::int64_t kMaxNs = std::int64_t{65536} * kNanosPerSecond;  // keeps the shift in range
    if (nanos >= kMaxNs) return {0xFFFF'FFFFu};
    const std::uint64_t units = ((static_cast<std::uint64_t>(nanos) << 16) + kNs / 2) / kNs;
    return {units > 0xFFFF'FFFFu ? 0xFFFF'FFFFu : static_cast<std::uint32_t>(units)};
}

}  // namespace timepipe::ntp
