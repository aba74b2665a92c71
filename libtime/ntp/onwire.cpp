#include "libtime/ntp/onwire.hpp"

#include "libtime/ntp/select.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace timepipe::ntp {
namespace {

// floor((a + b) / 2) without the overflow a + b could hit near ±2^63.
constexpr std::int64_t half_sum(std::int64_t a, std::int64_t b) { return (a >> 1) + (b >> 1) + (a & b & 1); }

// (x1 - x2) - (y1 - y2) modulo 2^64: the RFC 5905 way, no signed overflow whatever the inputs.
constexpr std::int64_t wrap_delay(std::uint64_t t4, std::uint64_t t1, std::uint64_t t3, std::uint64_t t2) {
    return static_cast<std::int64_t>((t4 - t1) - (t3 - t2));
}

double log2_seconds(std::int8_t rho) { return std::ldexp(1.0, rho); }

std::int64_t seconds_to_nanos(double s) {
    const double ns = std::round(s * 1e9);
    if (ns >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
    if (ns <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
    return static_cast<std::int64_t>(ns);
}

// ε = 2^ρlocal + 2^ρserver + PHI·(T4 − T1); a negative interval (clock stepped) counts as zero.
double dispersion(double t4_minus_t1, std::int8_t local_precision, std::int8_t server_precision) {
    return log2_seconds(local_precision) + log2_seconds(server_precision) + kPhi * std::max(0.0, t4_minus_t1);
}

}  // namespace

Sample on_wire(const Exchange& x, std::int8_t local_precision, std::int8_t server_precision) {
    const std::int64_t offset = half_sum(diff_fixed(x.t2, x.t1), diff_fixed(x.t3, x.t4));
    const std::int64_t delay = wrap_delay(x.t4.raw, x.t1.raw, x.t3.raw, x.t2.raw);
    const double floor_s = log2_seconds(local_precision);

    Sample s;
    s.offset = fixed_to_seconds(offset);
    s.offset_ns = fixed_to_nanos(offset);
    s.delay = std::max(fixed_to_seconds(delay), floor_s);
    s.delay_ns = std::max(fixed_to_nanos(delay), seconds_to_nanos(floor_s));
    s.dispersion = dispersion(fixed_to_seconds(diff_fixed(x.t4, x.t1)), local_precision, server_precision);
    s.dispersion_ns = seconds_to_nanos(s.dispersion);
    return s;
}

Sample on_wire(UnixNanos t1, UnixNanos t2, UnixNanos t3, UnixNanos t4, std::int8_t local_precision,
               std::int8_t server_precision) {
    const auto u = [](UnixNanos t) { return static_cast<std::uint64_t>(t); };
    const auto sub = [&](UnixNanos a, UnixNanos b) { return static_cast<std::int64_t>(u(a) - u(b)); };
    const std::int64_t offset = half_sum(sub(t2, t1), sub(t3, t4));
    const std::int64_t delay = wrap_delay(u(t4), u(t1), u(t3), u(t2));
    const double floor_s = log2_seconds(local_precision);

    Sample s;
    s.offset_ns = offset;
    s.offset = nanos_to_seconds(offset);
    s.delay_ns = std::max(delay, seconds_to_nanos(floor_s));
    s.delay = std::max(nanos_to_seconds(delay), floor_s);
    s.dispersion = dispersion(nanos_to_seconds(sub(t4, t1)), local_precision, server_precision);
    s.dispersion_ns = seconds_to_nanos(s.dispersion);
    return s;
}

double root_distance(const Sample& s, NtpShort root_delay, NtpShort root_dispersion, double jitter, double age) {
    return root_distance(SelectCandidate{.delay = s.delay,
                                         .dispersion = s.dispersion + kPhi * age,
                                         .jitter = jitter,
                                         .root_delay = short_to_seconds(root_delay),
                                         .root_dispersion = short_to_seconds(root_dispersion)});
}

}  // namespace timepipe::ntp
