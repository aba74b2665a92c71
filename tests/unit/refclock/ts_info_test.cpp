// libtime/refclock/ts_info: struct ethtool_ts_info decoded from fixed bytes (as the kernel of
// this x86-64 host lays them out) and the names ethtool -T prints; strict size, cmd and
// phc_index checks; encode/decode round trip over random values (TIMEPIPE_SEED=N replays).
#include "libtime/refclock/ts_info.hpp"

#include <gtest/gtest.h>

#include <random>

#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::refclock;
using timepipe::test::hex;

using Names = std::vector<std::string>;

// What loopback answers on Linux 6.18 (read with SIOCETHTOOL here): software stamps only.
TEST(RefclockTsInfo, LoopbackVector) {
    auto raw = hex("41000000 1a000000 ffffffff 00000000 00000000 00000000 00000000"
                   "00000000 00000000 00000000 00000000");
    auto info = decode_ts_info(raw);
    ASSERT_TRUE(info) << info.error().what;
    EXPECT_EQ(info->so_timestamping, 0x1au);
    EXPECT_EQ(info->phc_index, -1);
    EXPECT_TRUE(info->software_tx());
    EXPECT_TRUE(info->software_rx());
    EXPECT_FALSE(info->hardware_tx());
    EXPECT_FALSE(info->hardware_rx());
    EXPECT_EQ(timestamping_names(info->so_timestamping),
              (Names{"software-transmit", "software-receive", "software-system-clock"}));
    EXPECT_EQ(tx_type_names(info->tx_types), Names{});
    EXPECT_EQ(rx_filter_names(info->rx_filters), Names{});
}

// An Intel i210 (igb) as ethtool -T shows it: hardware stamps on /dev/ptp1, TX off/on, RX
// none/all.
TEST(RefclockTsInfo, HardwareNicVector) {
    auto raw = hex("41000000 5f000000 01000000 03000000 00000000 00000000 00000000"
                   "03000000 00000000 00000000 00000000");
    auto info = decode_ts_info(raw);
    ASSERT_TRUE(info) << info.error().what;
    EXPECT_EQ(info->phc_index, 1);
    EXPECT_TRUE(info->hardware_tx());
    EXPECT_TRUE(info->hardware_rx());
    EXPECT_EQ(timestamping_names(info->so_timestamping),
              (Names{"hardware-transmit", "software-transmit", "hardware-receive", "software-receive",
                     "software-system-clock", "hardware-raw-clock"}));
    EXPECT_EQ(tx_type_names(info->tx_types), (Names{"off", "on"}));
    EXPECT_EQ(rx_filter_names(info->rx_filters), (Names{"none", "all"}));
}

TEST(RefclockTsInfo, EveryNameAndUnknownBits) {
    EXPECT_EQ(timestamping_names(1u << 17), Names{"option-rx-filter"});
    EXPECT_EQ(timestamping_names(1u << 18), Names{"bit-18"});
    EXPECT_EQ(tx_type_names(1u << 3), Names{"onestep-p2p"});
    EXPECT_EQ(tx_type_names(1u << 4), Names{"bit-4"});
    EXPECT_EQ(rx_filter_names(1u << 15), Names{"ntp-all"});
    EXPECT_EQ(rx_filter_names(1u << 31), Names{"bit-31"});
    EXPECT_EQ(timestamping_names(0xffffffffu).size(), 32u);
}

TEST(RefclockTsInfo, HardwareNeedsTheRawClock) {
    TsInfo i;
    i.so_timestamping = kTxHardware | kRxHardware;  // no raw clock: nothing usable
    EXPECT_FALSE(i.hardware_tx());
    EXPECT_FALSE(i.hardware_rx());
}

TEST(RefclockTsInfo, StrictChecks) {
    auto good = encode_ts_info(TsInfo{});
    auto short_by_one = std::vector<std::byte>(good.begin(), good.end() - 1);
    auto r = decode_ts_info(short_by_one);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "ethtool_ts_info: 43 bytes, expected 44");
    EXPECT_EQ(r.error().exit_code, EX_DATAERR);

    auto wrong_cmd = good;
    wrong_cmd[0] = std::byte{0x40};
    r = decode_ts_info(wrong_cmd);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "ethtool_ts_info: cmd 64 is not ETHTOOL_GET_TS_INFO");

    TsInfo below;
    below.phc_index = -2;
    r = decode_ts_info(encode_ts_info(below));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "ethtool_ts_info: phc_index -2 is below -1");
}

TEST(RefclockTsInfo, RoundTripRandom) {
    std::mt19937_64 rng(test::test_seed("ts_info_test"));
    for (int i = 0; i < 1000; ++i) {
        TsInfo in{.so_timestamping = static_cast<std::uint32_t>(rng()),
                  .phc_index = static_cast<std::int32_t>(rng() % 1000) - 1,
                  .tx_types = static_cast<std::uint32_t>(rng()),
                  .rx_filters = static_cast<std::uint32_t>(rng())};
        auto out = decode_ts_info(encode_ts_info(in));
        ASSERT_TRUE(out) << out.error().what;
        EXPECT_EQ(*out, in);
    }
}

// struct hwtstamp_config as an igb driver answers SIOCGHWTSTAMP after ptp4l enabled it:
// flags 0, HWTSTAMP_TX_ON, HWTSTAMP_FILTER_ALL.
TEST(RefclockTsInfo, HwtstampConfigVector) {
    auto c = decode_hwtstamp_config(hex("00000000 01000000 01000000"));
    ASSERT_TRUE(c) << c.error().what;
    EXPECT_EQ(*c, (HwtstampConfig{0, 1, 1}));
    EXPECT_EQ(tx_type_name(c->tx_type), "on");
    EXPECT_EQ(rx_filter_name(c->rx_filter), "all");
    EXPECT_EQ(rx_filter_name(12), "ptpv2-event");
    EXPECT_EQ(tx_type_name(0), "off");
    EXPECT_EQ(tx_type_name(7), "7");
    EXPECT_EQ(rx_filter_name(99), "99");
    auto short_one = decode_hwtstamp_config(hex("00000000 01000000"));
    ASSERT_FALSE(short_one);
    EXPECT_EQ(short_one.error().what, "hwtstamp_config: 8 bytes, expected 12");
    HwtstampConfig in{3, 2, 15};
    EXPECT_EQ(*decode_hwtstamp_config(encode_hwtstamp_config(in)), in);
}
