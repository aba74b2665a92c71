// libtime/sys/clock_adjust: read-only queries only (modes 0); nothing here changes a clock.
#include <gtest/gtest.h>

#include <sys/timex.h>

#include "libtime/sys/clock_adjust.hpp"

using namespace timepipe;

TEST(ClockAdjust, ReadsRealtimeFrequencyAndStatusWithoutPrivilege) {
    auto clock = AdjustableClock::realtime();
    EXPECT_EQ(clock.name(), "CLOCK_REALTIME");
    EXPECT_FALSE(clock.is_ptp());
    auto r = clock.read();
    ASSERT_TRUE(r) << r.error().what;
    EXPECT_LE(std::abs(r->freq_scaled), 500LL * 65536);  // the kernel's range
    EXPECT_GE(r->state, TIME_OK);
    EXPECT_LE(r->state, TIME_ERROR);
    auto t = clock.now();
    ASSERT_TRUE(t);
    EXPECT_GT(*t, 1'600'000'000LL * kNanosPerSecond);
}

TEST(ClockAdjust, ManagedBitsAreThePllModesAndLeap) {
    EXPECT_EQ(leap_status_bits(0), 0);
    EXPECT_EQ(leap_status_bits(1), STA_INS);
    EXPECT_EQ(leap_status_bits(2), STA_DEL);
    EXPECT_TRUE(managed_status_bits() & STA_PLL);
    EXPECT_TRUE(managed_status_bits() & STA_INS);
    EXPECT_FALSE(managed_status_bits() & STA_UNSYNC);
    EXPECT_FALSE(managed_status_bits() & STA_NANO);
}

TEST(ClockAdjust, MissingPtpDeviceIsNoInput) {
    auto c = AdjustableClock::open_ptp("/nonexistent/ptp9", false);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().exit_code, EX_NOINPUT);
    EXPECT_EQ(c.error().what, "No such file or directory");
}
