// RFC 5905 on-wire maths against hand-worked exchanges (including one straddling the 2036 era
// boundary), the precision floor, dispersion, root distance, the RFC 9769 interleaved
// combination, and a randomized property (TIMEPIPE_SEED=N replays).
#include "libtime/ntp/onwire.hpp"

#include <cstdlib>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/ntp/ntp_support.hpp"
#include "tests/unit/test_support.hpp"

namespace timepipe::ntp {
namespace {

using timepipe::test::kEra1Start;
using timepipe::test::kMs;
using timepipe::test::kSec;
using timepipe::test::test_seed;

constexpr UnixNanos k2024 = 1'704'067'200 * kSec;       // 2024-01-01T00:00:00Z

Exchange ntp_exchange(UnixNanos t1, UnixNanos t2, UnixNanos t3, UnixNanos t4) {
    return {from_unix_nanos(t1), from_unix_nanos(t2), from_unix_nanos(t3), from_unix_nanos(t4)};
}

// Example A. The server is 0.5 s ahead; 10 ms each way; the server holds the packet 1 ms.
//   client time C: T1 = C, T4 = C + 21 ms;  server time: T2 = C + 510 ms, T3 = C + 511 ms
//   θ = ((510 − 0) + (511 − 21)) / 2 ms = (510 + 490) / 2 = 500 ms
//   δ = (21 − 0) − (511 − 510) = 20 ms
//   ε = 2^-20 + 2^-18 + 15e-6 · 0.021 = 0.95367431640625 µs + 3.814697265625 µs + 0.315 µs
//     = 5.08337158203125 µs -> 5083 ns
void expect_example_a(const Sample& s, std::int64_t tolerance_ns) {
    EXPECT_NEAR(s.offset_ns, 500 * kMs, tolerance_ns);
    EXPECT_NEAR(s.delay_ns, 20 * kMs, tolerance_ns);
    EXPECT_NEAR(s.offset, 0.5, 1e-9);
    EXPECT_NEAR(s.delay, 0.020, 1e-9);
    EXPECT_NEAR(s.dispersion, 5.08337158203125e-06, 1e-12);
    EXPECT_EQ(s.dispersion_ns, 5083);
}

TEST(NtpOnWire, WorkedExampleUnixNanos) {
    const UnixNanos c = k2024;
    expect_example_a(on_wire(c, c + 510 * kMs, c + 511 * kMs, c + 21 * kMs, -20, -18), 0);
}

TEST(NtpOnWire, WorkedExampleNtpTimestamps) {
    const UnixNanos c = k2024;
    // Each timestamp rounds to 2^-32 s (0.23 ns), so allow 1 ns.
    expect_example_a(on_wire(ntp_exchange(c, c + 510 * kMs, c + 511 * kMs, c + 21 * kMs), -20, -18), 1);
}

TEST(NtpOnWire, WorkedExampleAcrossEraBoundary) {
    // C is 5 ms before 2036-02-07T06:28:16Z: T1 is in era 0 (seconds 0xFFFFFFFF), the rest in era 1.
    const UnixNanos c = kEra1Start - 5 * kMs;
    const Exchange x = ntp_exchange(c, c + 510 * kMs, c + 511 * kMs, c + 21 * kMs);
    ASSERT_EQ(x.t1.seconds(), 0xFFFF'FFFFu);
    ASSERT_EQ(x.t4.seconds(), 0u);
    expect_example_a(on_wire(x, -20, -18), 1);
}

// Example B. The server is 2 s behind; 30 ms out, 10 ms back, 2 ms in the server.
//   T1 = C, T2 = C − 2 s + 30 ms = C − 1970 ms, T3 = C − 1968 ms, T4 = C + 42 ms
//   θ = ((−1970 − 0) + (−1968 − 42)) / 2 = (−1970 − 2010) / 2 = −1990 ms
//     (the true −2000 ms is off by the asymmetry (30 − 10) / 2 = 10 ms, as NTP must be)
//   δ = (42 − 0) − (−1968 + 1970) = 40 ms
TEST(NtpOnWire, NegativeOffsetAsymmetricPath) {
    const UnixNanos c = k2024;
    const Sample s = on_wire(c, c - 1970 * kMs, c - 1968 * kMs, c + 42 * kMs, -20, -20);
    EXPECT_EQ(s.offset_ns, -1990 * kMs);
    EXPECT_EQ(s.delay_ns, 40 * kMs);
    const Sample n = on_wire(ntp_exchange(c, c - 1970 * kMs, c - 1968 * kMs, c + 42 * kMs), -20, -20);
    EXPECT_NEAR(n.offset_ns, -1990 * kMs, 1);
    EXPECT_NEAR(n.delay, 0.040, 1e-9);
}

// Example C. Zero or negative measured delay (clock noise) is floored at the local precision:
//   δ = max(δ, 2^-20 s) = 0.95367431640625 µs -> 954 ns
TEST(NtpOnWire, DelayNeverBelowLocalPrecision) {
    const UnixNanos c = k2024;
    for (std::int64_t t4 : {c + 2 * kMs, c + 2 * kMs - 5'000}) {  // δ = 0, δ = −5 µs
        const Sample s = on_wire(c, c + 1 * kMs, c + 3 * kMs, t4, -20, -10);
        EXPECT_DOUBLE_EQ(s.delay, 0.00000095367431640625);
        EXPECT_EQ(s.delay_ns, 954);
        const Sample n = on_wire(ntp_exchange(c, c + 1 * kMs, c + 3 * kMs, t4), -20, -10);
        EXPECT_DOUBLE_EQ(n.delay, 0.00000095367431640625);
        EXPECT_EQ(n.delay_ns, 954);
    }
}

// Example D. Dispersion grows with the round trip: T4 − T1 = 2 s, ρ = −30 on both sides:
//   ε = 2^-30 + 2^-30 + 15e-6 · 2 = 1.862645149230957e-09 + 30e-6 = 30.001862645 µs -> 30002 ns
TEST(NtpOnWire, DispersionGrowsWithRoundTrip) {
    const UnixNanos c = k2024;
    const Sample s = on_wire(c, c + 1 * kSec, c + 1 * kSec, c + 2 * kSec, -30, -30);
    EXPECT_DOUBLE_EQ(s.dispersion, 2 * 0.000000000931322574615478515625 + 30e-6);
    EXPECT_EQ(s.dispersion_ns, 30'002);
}

// Root distance for example A with root delay 1/16 s (0x00001000) and root dispersion
// 1/32 s (0x00000800):
//   λ = max(0.005, 0.0625 + 0.020) / 2 + 0.03125 + 5.08337158203125e-06
//     = 0.04125 + 0.03125 + 0.00000508337158203125 = 0.07250508337158203
// plus jitter 1 ms and 10 s of age (15 ppm -> 150 µs): 0.07365508337158203.
// With no root delay and a 1 ms path MINDISP (RFC 5905 §7.2: 0.005 s) wins: 0.005 / 2 + ε.
TEST(NtpOnWire, RootDistance) {
    const UnixNanos c = k2024;
    const Sample s = on_wire(c, c + 510 * kMs, c + 511 * kMs, c + 21 * kMs, -20, -18);
    EXPECT_NEAR(root_distance(s, NtpShort{0x1000}, NtpShort{0x0800}), 0.07250508337158203, 1e-15);
    EXPECT_NEAR(root_distance(s, NtpShort{0x1000}, NtpShort{0x0800}, 0.001, 10.0), 0.07365508337158203, 1e-15);
    const Sample fast = on_wire(c, c + 500 * kMs, c + 500 * kMs, c + 1 * kMs, -20, -18);
    EXPECT_NEAR(root_distance(fast, NtpShort{0}, NtpShort{0}), 0.0025 + fast.dispersion, 1e-15);
}

// Interleaved client/server (RFC 9769). The server is 250 ms ahead, 1 ms each way. In the
// previous exchange the server wrote a transmit softstamp of C + 251.5 ms into its response but
// the packet really left at C + 252 ms; that true time arrives in the current response.
//   basic, softstamp:  θ = (251 + (251.5 − 3)) / 2 = 249.75 ms,  δ = 3 − 0.5 = 2.5 ms  (wrong)
//   interleaved:       θ = (251 + (252 − 3)) / 2   = 250 ms,     δ = 3 − 1   = 2 ms    (right)
TEST(NtpOnWire, InterleavedUsesPreviousExchangeWithTrueTransmit) {
    const UnixNanos c = k2024;
    const auto prev_sent = from_unix_nanos(c);
    const auto prev_resp_receive = from_unix_nanos(c + 251 * kMs);
    const auto prev_resp_transmit_soft = from_unix_nanos(c + 251'500'000);
    const auto prev_arrived = from_unix_nanos(c + 3 * kMs);
    const auto cur_resp_transmit = from_unix_nanos(c + 252 * kMs);  // true send time of previous response

    const Sample basic = on_wire({prev_sent, prev_resp_receive, prev_resp_transmit_soft, prev_arrived}, -20, -20);
    EXPECT_NEAR(basic.offset_ns, 249'750'000, 1);
    EXPECT_NEAR(basic.delay_ns, 2'500'000, 1);

    const Exchange x = interleaved_exchange(prev_sent, prev_resp_receive, cur_resp_transmit, prev_arrived);
    EXPECT_EQ(x.t1, prev_sent);
    EXPECT_EQ(x.t2, prev_resp_receive);
    EXPECT_EQ(x.t3, cur_resp_transmit);
    EXPECT_EQ(x.t4, prev_arrived);
    const Sample s = on_wire(x, -20, -20);
    EXPECT_NEAR(s.offset_ns, 250 * kMs, 1);
    EXPECT_NEAR(s.delay_ns, 2 * kMs, 1);
}

// Offsets close to the ±2^31 s (68 year) limit: (T2 − T1) + (T3 − T4) is then beyond int64 in
// 2^-32 s units, so the halving must not overflow. Server 2e9 s (63.4 years) ahead, zero delay:
//   θ = (2e9 + 2e9) / 2 = 2e9 s, δ = 0 -> floored at 2^-20 s.
TEST(NtpOnWire, OffsetNearTheEraLimit) {
    const UnixNanos c = k2024;
    const std::int64_t far = 2'000'000'000 * kSec;
    for (std::int64_t sign : {1, -1}) {
        const Sample s = on_wire(ntp_exchange(c, c + sign * far, c + sign * far, c), -20, -20);
        EXPECT_EQ(s.offset_ns, sign * far);
        EXPECT_DOUBLE_EQ(s.offset, sign * 2e9);
        EXPECT_EQ(s.delay_ns, 954);
    }
}

TEST(NtpOnWireProperty, RecoversOffsetAndDelayOfSymmetricPaths) {
    const std::uint64_t seed = test_seed("NtpOnWireProperty.RecoversOffsetAndDelayOfSymmetricPaths");
    SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::int64_t> offset(-1000 * kSec, 1000 * kSec);
    std::uniform_int_distribution<std::int64_t> one_way(1'000, 1 * kSec);
    std::uniform_int_distribution<std::int64_t> hold(0, 10 * kMs);
    std::uniform_int_distribution<std::int64_t> around_2036(kEra1Start - 3000 * kSec, kEra1Start + 3000 * kSec);
    std::uniform_int_distribution<std::int64_t> anywhen(0, 4'000'000'000 * kSec);
    for (int i = 0; i < 50'000; ++i) {
        const UnixNanos c = i % 2 ? around_2036(rng) : anywhen(rng);
        const std::int64_t theta = offset(rng), d = one_way(rng), p = hold(rng);
        const UnixNanos t1 = c, t2 = c + theta + d, t3 = t2 + p, t4 = c + 2 * d + p;

        const Sample ns = on_wire(t1, t2, t3, t4, -20, -20);
        ASSERT_EQ(ns.offset_ns, theta) << "c=" << c;
        ASSERT_EQ(ns.delay_ns, 2 * d) << "c=" << c;

        const Sample fx = on_wire(ntp_exchange(t1, t2, t3, t4), -20, -20);
        ASSERT_LE(std::llabs(fx.offset_ns - theta), 1) << "c=" << c << " theta=" << theta;
        ASSERT_LE(std::llabs(fx.delay_ns - 2 * d), 1) << "c=" << c << " d=" << d;
        ASSERT_NEAR(fx.offset, nanos_to_seconds(theta), 1e-9);
    }
}

}  // namespace
}  // namespace timepipe::ntp
