// NTP timestamp and short formats: fixed vectors, the 2036 era pivot, and randomized round trips
// (seed printed; TIMEPIPE_SEED=N replays).
#include "libtime/ntp/timestamp.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/ntp/ntp_support.hpp"
#include "tests/unit/test_support.hpp"

namespace timepipe::ntp {
namespace {

using timepipe::test::kEra1Start;
using timepipe::test::kSec;
using timepipe::test::test_seed;

constexpr UnixNanos k1990 = 631'152'000 * kSec;         // 1990-01-01T00:00:00Z

TEST(NtpTimestamp, UnixEpochIsOffsetSeconds) {
    EXPECT_EQ(from_unix_nanos(0), NtpTimestamp::from_parts(0x83AA7E80u, 0));  // 2208988800
    EXPECT_EQ(to_unix_nanos(NtpTimestamp::from_parts(0x83AA7E80u, 0), 0), 0);
}

TEST(NtpTimestamp, FractionRoundsToNearest) {
    EXPECT_EQ(nanos_to_frac(500'000'000), 0x8000'0000u);
    EXPECT_EQ(frac_to_nanos(0x8000'0000u), 500'000'000u);
    EXPECT_EQ(nanos_to_frac(1), 4u);           // 4.295 -> 4
    EXPECT_EQ(frac_to_nanos(4), 1u);           // 0.931 -> 1
    EXPECT_EQ(frac_to_nanos(2), 0u);           // 0.466 -> 0
    EXPECT_EQ(frac_to_nanos(3), 1u);           // 0.698 -> 1
    EXPECT_EQ(nanos_to_frac(999'999'999), 0xFFFF'FFFCu);  // never carries into the seconds
    EXPECT_EQ(frac_to_nanos(0xFFFF'FFFFu), 1'000'000'000u);  // 999999999.77 rounds up to a whole second
}

TEST(NtpTimestamp, BeforeUnixEpoch) {
    // -1 ns is 1969-12-31T23:59:59.999999999Z.
    EXPECT_EQ(from_unix_nanos(-1), NtpTimestamp::from_parts(0x83AA7E7Fu, 0xFFFF'FFFCu));
    EXPECT_EQ(to_unix_nanos(from_unix_nanos(-1), 0), -1);
}

TEST(NtpTimestamp, EraPivotAround2036) {
    // 0x00000001 s with a pivot at the start of era 1 is 2036-02-07T06:28:17Z, not 1900.
    const auto one = NtpTimestamp::from_parts(1, 0);
    EXPECT_EQ(to_unix_nanos(one, kEra1Start), kEra1Start + kSec);
    // The last second of era 0 stays in era 0 with the same pivot, half a second before it.
    EXPECT_EQ(to_unix_nanos(NtpTimestamp::from_parts(0xFFFF'FFFFu, 0x8000'0000u), kEra1Start), kEra1Start - kSec / 2);
    EXPECT_EQ(to_unix_nanos(NtpTimestamp::from_parts(0, 0), kEra1Start), kEra1Start);
    // Encoding the era boundary wraps the seconds to zero.
    EXPECT_EQ(from_unix_nanos(kEra1Start), NtpTimestamp::from_parts(0, 0));
    EXPECT_EQ(from_unix_nanos(kEra1Start + 1'500'000'000), NtpTimestamp::from_parts(1, 0x8000'0000u));
}

TEST(NtpTimestamp, PivotIn1990ResolvesEra0) {
    // 0xAA000000 s = 2852126720 s after 1900 = 643137920 s Unix (1990-05-19): era 0.
    EXPECT_EQ(to_unix_nanos(NtpTimestamp::from_parts(0xAA00'0000u, 0), k1990), 643'137'920 * kSec);
    // The window is pivot ± 2^31 s (1921..2058 for a 1990 pivot): its lowest era-0 second and
    // the same seconds field one era later both resolve correctly.
    const std::int64_t pivot_ntp = 631'152'000 + kNtpToUnixSeconds;
    const auto low = static_cast<std::uint32_t>(pivot_ntp - (std::int64_t{1} << 31));
    EXPECT_EQ(to_unix_nanos(NtpTimestamp::from_parts(low, 0), k1990),
              (pivot_ntp - (std::int64_t{1} << 31) - kNtpToUnixSeconds) * kSec);
    // 0x00000001 s is 90 years before a 1990 pivot but only 46 after: it lands in era 1 (2036).
    EXPECT_EQ(to_unix_nanos(NtpTimestamp::from_parts(1, 0), k1990), kEra1Start + kSec);
    // With a pivot before 1968 the same field is 1900-01-01T00:00:01Z, era 0.
    EXPECT_EQ(to_unix_nanos(NtpTimestamp::from_parts(1, 0), -946'771'200 * kSec), (1 - kNtpToUnixSeconds) * kSec);
}

TEST(NtpTimestamp, SaturatesOutsideUnixNanos) {
    const auto max = std::numeric_limits<UnixNanos>::max();
    const auto min = std::numeric_limits<UnixNanos>::min();
    const auto near_max = from_unix_nanos(max - 10 * kSec);
    EXPECT_EQ(to_unix_nanos(NtpTimestamp::from_parts(near_max.seconds() + 100, 0), max), max);
    const auto near_min = from_unix_nanos(min + 10 * kSec);
    EXPECT_EQ(to_unix_nanos(NtpTimestamp::from_parts(near_min.seconds() - 100, 0), min), min);
    EXPECT_EQ(to_unix_nanos(near_max, max), max - 10 * kSec);
}

TEST(NtpTimestamp, DifferenceAcrossEraBoundary) {
    const auto a = from_unix_nanos(kEra1Start + kSec / 2);    // era 1, seconds 0
    const auto b = from_unix_nanos(kEra1Start - kSec / 4);    // era 0, seconds 0xFFFFFFFF
    EXPECT_EQ(diff_fixed(a, b), std::int64_t{0xC000'0000});  // 0.75 s
    EXPECT_EQ(diff_nanos(a, b), 750'000'000);
    EXPECT_EQ(diff_nanos(b, a), -750'000'000);
    EXPECT_DOUBLE_EQ(fixed_to_seconds(diff_fixed(b, a)), -0.75);
}

TEST(NtpTimestamp, FixedToNanosRoundsNegativesToNearest) {
    EXPECT_EQ(fixed_to_nanos(-1), 0);                               // -0.23 ns
    EXPECT_EQ(fixed_to_nanos(-4), -1);                              // -0.93 ns
    EXPECT_EQ(fixed_to_nanos(-(std::int64_t{1} << 31)), -500'000'000);
    EXPECT_EQ(fixed_to_nanos(std::int64_t{3} << 32), 3 * kSec);
    EXPECT_EQ(fixed_to_nanos(std::numeric_limits<std::int64_t>::min()), -(std::int64_t{1} << 31) * kSec);
}

TEST(NtpShortFormat, Conversions) {
    EXPECT_DOUBLE_EQ(short_to_seconds(NtpShort{0x0001'0000u}), 1.0);
    EXPECT_DOUBLE_EQ(short_to_seconds(NtpShort{0x0000'8000u}), 0.5);
    EXPECT_EQ(short_to_nanos(NtpShort{0x0000'8000u}), 500'000'000);
    EXPECT_EQ(short_to_nanos(NtpShort{1}), 15'259);  // 15258.789 ns
    EXPECT_EQ(short_from_seconds(1.5), NtpShort{0x0001'8000u});
    EXPECT_EQ(short_from_seconds(-1.0), NtpShort{0});
    EXPECT_EQ(short_from_seconds(std::nan("")), NtpShort{0});
    EXPECT_EQ(short_from_seconds(1e9), NtpShort{0xFFFF'FFFFu});
    EXPECT_EQ(short_from_nanos(15'258), NtpShort{1});
    EXPECT_EQ(short_from_nanos(7'000), NtpShort{0});
    EXPECT_EQ(short_from_nanos(-5), NtpShort{0});
    EXPECT_EQ(short_from_nanos(std::numeric_limits<std::int64_t>::max()), NtpShort{0xFFFF'FFFFu});
    EXPECT_EQ(short_from_nanos(250'000'000), NtpShort{0x0000'4000u});
}

TEST(NtpTimestampProperty, UnixNanosRoundTripIsExact) {
    const std::uint64_t seed = test_seed("NtpTimestampProperty.UnixNanosRoundTripIsExact");
    SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    // 1900..2200, and pivots up to ±2^30 s away.
    std::uniform_int_distribution<std::int64_t> when(-kNtpToUnixSeconds * kSec, 7'258'118'400 * kSec);
    std::uniform_int_distribution<std::int64_t> skew(-(std::int64_t{1} << 30) * kSec, (std::int64_t{1} << 30) * kSec);
    for (int i = 0; i < 100'000; ++i) {
        const UnixNanos t = when(rng);
        const UnixNanos pivot = t + skew(rng);
        ASSERT_EQ(to_unix_nanos(from_unix_nanos(t), pivot), t) << "t=" << t << " pivot=" << pivot;
    }
}

TEST(NtpTimestampProperty, DifferenceMatchesUnixDifference) {
    const std::uint64_t seed = test_seed("NtpTimestampProperty.DifferenceMatchesUnixDifference");
    SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed + 1);
    // Around the 2036 boundary, differences up to ±2^31 s less a margin.
    std::uniform_int_distribution<std::int64_t> when(kEra1Start - 1000 * kSec, kEra1Start + 1000 * kSec);
    std::uniform_int_distribution<std::int64_t> gap(-(std::int64_t{1} << 31) * kSec + kSec,
                                                    (std::int64_t{1} << 31) * kSec - kSec);
    for (int i = 0; i < 100'000; ++i) {
        const UnixNanos b = when(rng);
        const UnixNanos a = b + gap(rng);
        const std::int64_t d = diff_nanos(from_unix_nanos(a), from_unix_nanos(b));
        ASSERT_LE(std::llabs(d - (a - b)), 1) << "a=" << a << " b=" << b;
    }
}

TEST(NtpShortProperty, NanosRoundTripWithinHalfUnit) {
    const std::uint64_t seed = test_seed("NtpShortProperty.NanosRoundTripWithinHalfUnit");
    SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed + 2);
    std::uniform_int_distribution<std::int64_t> ns(0, 65535 * kSec);
    for (int i = 0; i < 100'000; ++i) {
        const std::int64_t n = ns(rng);
        ASSERT_LE(std::llabs(short_to_nanos(short_from_nanos(n)) - n), 7'630) << n;  // 2^-17 s
        const NtpShort s{static_cast<std::uint32_t>(rng())};
        ASSERT_EQ(short_from_nanos(short_to_nanos(s)), s);
        ASSERT_EQ(short_from_seconds(short_to_seconds(s)), s);
    }
}

}  // namespace
}  // namespace timepipe::ntp
