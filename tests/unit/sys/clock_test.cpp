#include "libtime/sys/clock.hpp"

#include <gtest/gtest.h>

#include <ctime>

using namespace timepipe;

TEST(SystemClock, ReadsRealtime) {
    SystemClock c;
    timespec ts{};
    ASSERT_EQ(clock_gettime(CLOCK_REALTIME, &ts), 0);
    UnixNanos ref = static_cast<UnixNanos>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
    UnixNanos now = c.now();
    EXPECT_GE(now, ref);
    EXPECT_LT(now - ref, kNanosPerSecond);
    EXPECT_GT(now, 1'600'000'000 * kNanosPerSecond);  // after 2020: this is wall time
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

TEST(Monotonic, NeverGoesBack) {
    std::int64_t last = monotonic_now();
    for (int i = 0; i < 10000; ++i) {
        std::int64_t t = monotonic_now();
        ASSERT_GE(t, last);
        last = t;
    }
}
