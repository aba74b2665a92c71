// libtime/sys/ethtool: ETHTOOL_GET_TS_INFO on this host's loopback (software stamps, no PHC:
// what every Linux since 3.5 reports for lo), and the errors for a missing or misnamed interface.
#include "libtime/sys/ethtool.hpp"

#include <gtest/gtest.h>

#include "libtime/refclock/ts_info.hpp"

using namespace timepipe;

TEST(SysEthtool, LoopbackHasSoftwareStamps) {
    auto raw = sys::read_ts_info("lo");
    ASSERT_TRUE(raw) << raw.error().what;
    ASSERT_EQ(raw->size(), refclock::kTsInfoSize);
    auto info = refclock::decode_ts_info(*raw);
    ASSERT_TRUE(info) << info.error().what;
    EXPECT_TRUE(info->software_tx());
    EXPECT_TRUE(info->software_rx());
    EXPECT_FALSE(info->hardware_tx());
    EXPECT_EQ(info->phc_index, -1);
}

TEST(SysEthtool, Errors) {
    auto r = sys::read_ts_info("nosuch-if0");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "no such interface");
    EXPECT_EQ(r.error().exit_code, EX_NOINPUT);
    r = sys::read_ts_info("a-name-of-16-chr");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().exit_code, EX_USAGE);
    EXPECT_EQ(sys::read_ts_info("").error().exit_code, EX_USAGE);
}

// lo has no hardware stamps to enable: SIOCGHWTSTAMP is "not offered", never an OS error.
TEST(SysEthtool, LoopbackHasNoHwtstampConfig) {
    auto r = sys::read_hwtstamp_config("lo");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().exit_code, EX_UNAVAILABLE);
    EXPECT_EQ(r.error().what.rfind("SIOCGHWTSTAMP: ", 0), 0u) << r.error().what;
    EXPECT_EQ(sys::read_hwtstamp_config("nosuch-if0").error().exit_code, EX_NOINPUT);
}
