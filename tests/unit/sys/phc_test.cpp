// libtime/sys/phc: opening errors, and the PTP ioctls on a device that is no PTP clock
// (/dev/null answers ENOTTY): each is "not offered" (EX_UNAVAILABLE), so measure_phc tries all
// three and says none is. This host has no /dev/ptp*: the decoding of real answers is tested
// with fixed vectors in tests/unit/refclock/phc_offset_test.cpp.
#include "libtime/sys/phc.hpp"

#include <gtest/gtest.h>

#include "libtime/refclock/phc_offset.hpp"

using namespace timepipe;

TEST(SysPhc, OpenErrors) {
    auto d = sys::PhcDevice::open("/dev/ptp-does-not-exist");
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().exit_code, EX_NOINPUT);
    EXPECT_EQ(d.error().what, "No such file or directory");
}

TEST(SysPhc, NotAPtpClockOffersNoMethod) {
    auto d = sys::PhcDevice::open("/dev/null");
    ASSERT_TRUE(d) << d.error().what;
    auto p = d->sys_offset_precise();
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().exit_code, EX_UNAVAILABLE);
    EXPECT_EQ(p.error().what.rfind("PTP_SYS_OFFSET_PRECISE: ", 0), 0u) << p.error().what;
    EXPECT_EQ(d->sys_offset_extended(5).error().exit_code, EX_UNAVAILABLE);
    EXPECT_EQ(d->sys_offset(5).error().exit_code, EX_UNAVAILABLE);
    EXPECT_EQ(d->sys_offset(0).error().exit_code, EX_USAGE);
    EXPECT_EQ(d->sys_offset_extended(26).error().exit_code, EX_USAGE);

    int asked = 0;
    auto m = refclock::measure_phc(
        [&](refclock::PhcMethod how, int n) {
            ++asked;
            switch (how) {
            case refclock::PhcMethod::precise: return d->sys_offset_precise();
            case refclock::PhcMethod::extended: return d->sys_offset_extended(n);
            case refclock::PhcMethod::basic: break;
            }
            return d->sys_offset(n);
        },
        10);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().exit_code, EX_UNAVAILABLE);
    EXPECT_EQ(asked, 3);

    sys::PhcDevice moved = std::move(*d);  // the fd moves with it
    EXPECT_EQ(moved.sys_offset(1).error().exit_code, EX_UNAVAILABLE);
}
