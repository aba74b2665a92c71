#include "libtime/sys/clock.hpp"

#include <gtest/gtest.h>

#include <ctime>

using namespace timepipe;

namespace {

// The reference: clock_gettime itself, read here, independently of libtime/sys/clock.cpp.
std::int64_t reference_ns(clockid_t id) {
    timespec ts{};
    EXPECT_EQ(clock_gettime(id, &ts), 0);
    return static_cast<std::int64_t>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

}  // namespace

// A reading taken between two reference readings of the clock it claims to read lies between
// them. Fails if the clock reads another clock id, another unit, or a stale or made-up value.
TEST(SystemClock, ReadsRealtime) {
    SystemClock c;
    for (int i = 0; i < 1000; ++i) {
        std::int64_t before = reference_ns(CLOCK_REALTIME);
        UnixNanos now = c.now();
        std::int64_t after = reference_ns(CLOCK_REALTIME);
        ASSERT_LE(before, now) << "read " << i;
        ASSERT_LE(now, after) << "read " << i;
    }
}

TEST(SystemClock, PrecisionIsPlausible) {
    SystemClock c;
    // Between 1 ns (2^-30) and 1/64 s: any Linux clocksource, even jiffies.
    EXPECT_GE(c.precision_log2(), -30);
    EXPECT_LE(c.precision_log2(), -6);
}

TEST(Precision, RoundsToNearestPowerOfTwo) {
    // A clock that steps by exactly `step` on every read.
    struct Stepping final : Clock {
        explicit Stepping(std::int64_t s) : step(s) {}
        UnixNanos now() const override { return t += step; }
        std::int8_t precision_log2() const override { return 0; }
        std::int64_t step;
        mutable UnixNanos t = 0;
    };
    EXPECT_EQ(measure_precision_log2(Stepping(1'000'000'000)), 0);
    EXPECT_EQ(measure_precision_log2(Stepping(1'000)), -20);   // 2^-20 s = 954 ns
    EXPECT_EQ(measure_precision_log2(Stepping(1)), -30);       // 2^-30 s = 0.93 ns
    EXPECT_EQ(measure_precision_log2(Stepping(15'625'000)), -6);  // 1/64 s exactly
    EXPECT_EQ(measure_precision_log2(SimulatedClock(0)), 0);     // never moves
}

TEST(SimulatedClock, OffsetAndFrequency) {
    SimulatedClock c(1'000 * kNanosPerSecond, -22);
    EXPECT_EQ(c.now(), 1'000 * kNanosPerSecond);
    EXPECT_EQ(c.precision_log2(), -22);
    c.advance(kNanosPerSecond);
    EXPECT_EQ(c.now(), 1'001 * kNanosPerSecond);
    EXPECT_EQ(c.offset(), 0);

    c.set_offset(-5'000);
    EXPECT_EQ(c.now(), c.true_time() - 5'000);
    c.set_frequency_ppm(12.5);
    c.advance(kNanosPerSecond);
    EXPECT_EQ(c.offset(), -5'000 + 12'500);
    // Sub-nanosecond frequency errors accumulate rather than vanish.
    c.set_frequency_ppm(0.0001);  // 0.1 ns per second
    std::int64_t before = c.offset();
    for (int i = 0; i < 100; ++i)
        c.advance(kNanosPerSecond);
    EXPECT_NEAR(static_cast<double>(c.offset() - before), 10.0, 1.0);
    c.set(42);
    EXPECT_EQ(c.now(), 42);
}

// monotonic_now() is CLOCK_MONOTONIC in nanoseconds: each reading lies between two reference
// readings of CLOCK_MONOTONIC. (A test that only checked it never goes back passed for any
// non-decreasing function, a constant included.) CLOCK_REALTIME is far from CLOCK_MONOTONIC
// (decades apart), a microsecond clock reads a thousandth of it: neither lies in the bracket.
TEST(Monotonic, ReadsClockMonotonicInNanoseconds) {
    for (int i = 0; i < 1000; ++i) {
        std::int64_t before = reference_ns(CLOCK_MONOTONIC);
        std::int64_t m = monotonic_now();
        std::int64_t after = reference_ns(CLOCK_MONOTONIC);
        ASSERT_LE(before, m) << "read " << i;
        ASSERT_LE(m, after) << "read " << i;
    }
}

// sleep_for() sleeps at least as long as asked on CLOCK_MONOTONIC (no signal arrives here), and
// not at all for zero or a negative duration. Only lower bounds: no elapsed-time ceiling.
TEST(Monotonic, SleepForNeverEndsEarly) {
    for (std::int64_t ns : {1'000LL, 1'000'000LL, 3'000'000LL}) {
        std::int64_t before = reference_ns(CLOCK_MONOTONIC);
        sleep_for(std::chrono::nanoseconds(ns));
        EXPECT_GE(reference_ns(CLOCK_MONOTONIC) - before, ns) << ns << " ns";
    }
}
