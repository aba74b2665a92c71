// libtime/stream/timestamp_probe: timestamp_capabilities and timestamp_probe records, their
// keys, round trips through CBOR (randomized, TIMEPIPE_SEED=N replays) and the strict checks.
#include "libtime/stream/timestamp_probe.hpp"

#include <gtest/gtest.h>

#include <random>

#include "tests/unit/stream/sample_fixtures.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;
using timepipe::test::through_cbor;

namespace {

constexpr UnixNanos kT = 1'700'000'000'000'000'000;

TimestampProbe full_probe() {
    TimestampProbe p;
    p.source = "ntp://127.0.0.1:123";
    p.seq = 3;
    p.interface = "eth0";
    p.user_tx = kT;
    p.time = kT;
    p.software_tx = kT + 15'000;
    p.hardware_tx = kT + 16'250;
    p.software_rx = kT + 80'000;
    p.hardware_rx = kT + 79'000;
    p.user_rx = kT + 95'500;
    fill_differences(p);
    return p;
}

std::string probe_error(Record r) {
    auto p = from_record<TimestampProbe>(r);
    if (p) return "no error";
    EXPECT_EQ(p.error().exit_code, EX_DATAERR);
    return p.error().what;
}

}  // namespace

TEST(StreamTimestampProbe, DifferencesFromTheStamps) {
    TimestampProbe p = full_probe();
    EXPECT_DOUBLE_EQ(*p.tx_delay, 15e-6);
    EXPECT_DOUBLE_EQ(*p.rx_delay, 15.5e-6);
    EXPECT_DOUBLE_EQ(*p.round_trip, 65e-6);
    EXPECT_DOUBLE_EQ(*p.tx_hw_minus_sw, 1.25e-6);
    EXPECT_DOUBLE_EQ(*p.rx_hw_minus_sw, -1e-6);
    p.hardware_tx.reset();
    p.user_rx.reset();
    fill_differences(p);
    EXPECT_FALSE(p.tx_hw_minus_sw);
    EXPECT_FALSE(p.rx_delay);
    EXPECT_TRUE(p.round_trip);
}

TEST(StreamTimestampProbe, KeysInOrder) {
    Record r = to_record(full_probe());
    std::vector<std::string> keys;
    for (const auto& item : r.items()) keys.push_back(item.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"v", "type", "source", "time", "seq", "interface", "user_tx",
                                              "software_tx", "hardware_tx", "software_rx", "hardware_rx", "user_rx",
                                              "tx_delay", "rx_delay", "round_trip", "tx_hw_minus_sw",
                                              "rx_hw_minus_sw"}));
    TimestampProbe bare;
    bare.source = "ntp://[::1]:123";
    bare.time = bare.user_tx = 5;
    Record b = to_record(bare);
    EXPECT_EQ(b.size(), 6u);  // v, type, source, time, seq, user_tx: a request nothing came back for
    auto back = through_cbor<TimestampProbe>(b);
    ASSERT_TRUE(back) << back.error().what;
    EXPECT_EQ(*back, bare);
}

TEST(StreamTimestampProbe, RoundTripRandom) {
    std::mt19937_64 rng(test::test_seed("timestamp_probe_test"));
    for (int i = 0; i < 500; ++i) {
        TimestampProbe p;
        p.source = "ntp://192.0.2." + std::to_string(rng() % 256) + ":123";
        p.seq = static_cast<std::int64_t>(rng() % 1000);
        p.user_tx = static_cast<std::int64_t>(rng() >> 1) - (std::int64_t{1} << 61);
        p.time = p.user_tx;
        auto maybe = [&](std::int64_t span) -> std::optional<UnixNanos> {
            if (rng() % 3 == 0) return std::nullopt;
            return p.user_tx + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(span));
        };
        if (rng() % 2) p.interface = "veth" + std::to_string(i);
        p.software_tx = maybe(1'000'000);
        p.hardware_tx = maybe(1'000'000'000'000);
        p.software_rx = maybe(1'000'000'000);
        p.hardware_rx = maybe(1'000'000'000'000);
        p.user_rx = maybe(2'000'000'000);
        fill_differences(p);
        auto back = through_cbor<TimestampProbe>(to_record(p));
        ASSERT_TRUE(back) << back.error().what;
        EXPECT_EQ(*back, p);
    }
}

TEST(StreamTimestampProbe, StrictChecks) {
    Record good = to_record(full_probe());
    EXPECT_EQ(probe_error(good), "no error");
    auto with = [&](const char* key, Record v) { Record r = good; r[key] = std::move(v); return probe_error(r); };
    auto without = [&](const char* key) { Record r = good; r.erase(key); return probe_error(r); };

    EXPECT_EQ(with("type", "sample"), "timestamp_probe: not a timestamp_probe record (type \"sample\")");
    EXPECT_EQ(without("user_tx"), "timestamp_probe: missing \"user_tx\"");
    EXPECT_EQ(with("seq", -1), "timestamp_probe: \"seq\": -1 is not in 0..9223372036854775807");
    EXPECT_EQ(with("software_tx", 1.5), "timestamp_probe: \"software_tx\": not an integer");
    EXPECT_EQ(with("interface", ""), "timestamp_probe: \"interface\": empty");
    EXPECT_EQ(with("time", kT + 1), "timestamp_probe: \"time\": not equal to \"user_tx\"");
    EXPECT_EQ(with("user_rx", kT - 1), "timestamp_probe: \"user_rx\": before \"user_tx\"");
    // A difference must be what its stamps say, and present exactly when they are.
    EXPECT_EQ(with("tx_delay", 16e-6), "timestamp_probe: \"tx_delay\": not the difference of its stamps");
    EXPECT_EQ(with("round_trip", "65us"), "timestamp_probe: \"round_trip\": not a number");
    EXPECT_EQ(without("rx_hw_minus_sw"),
              "timestamp_probe: \"rx_hw_minus_sw\": missing though both of its stamps are present");
    Record no_hw = good;
    no_hw.erase("hardware_tx");
    EXPECT_EQ(probe_error(no_hw), "timestamp_probe: \"tx_hw_minus_sw\": present without both of its stamps");
    // Unknown keys are ignored.
    EXPECT_EQ(with("future", 1), "no error");
}

TEST(StreamTimestampCapabilities, RoundTripAndChecks) {
    TimestampCapabilities c;
    c.source = "if://lo";
    c.time = kT;
    c.interface = "lo";
    c.capabilities = {"software-transmit", "software-receive", "software-system-clock"};
    Record r = to_record(c);
    EXPECT_EQ(r.dump(), "{\"v\":1,\"type\":\"timestamp_capabilities\",\"source\":\"if://lo\",\"time\":"
                        "1700000000000000000,\"interface\":\"lo\",\"capabilities\":[\"software-transmit\","
                        "\"software-receive\",\"software-system-clock\"],\"phc_index\":-1,\"tx_types\":[],"
                        "\"rx_filters\":[]}");
    auto back = through_cbor<TimestampCapabilities>(r);
    ASSERT_TRUE(back) << back.error().what;
    EXPECT_EQ(*back, c);

    auto err = [&](const char* key, Record v) {
        Record x = r;
        x[key] = std::move(v);
        auto got = from_record<TimestampCapabilities>(x);
        return got ? std::string("no error") : got.error().what;
    };
    EXPECT_EQ(err("phc_index", -2), "timestamp_capabilities: \"phc_index\": -2 is not in -1..9223372036854775807");
    EXPECT_EQ(err("capabilities", "software-transmit"), "timestamp_capabilities: \"capabilities\": not an array");
    EXPECT_EQ(err("rx_filters", Record::array({1})),
              "timestamp_capabilities: \"rx_filters\": an item is not a non-empty text string");
    EXPECT_EQ(err("interface", ""), "timestamp_capabilities: \"interface\": empty");
    EXPECT_EQ(err("enabled_tx_type", ""), "timestamp_capabilities: \"enabled_tx_type\": empty");
    EXPECT_EQ(err("enabled_rx_filter", 1), "timestamp_capabilities: \"enabled_rx_filter\": not a text string");

    // A NIC with hardware stamps enabled says what is on.
    c.enabled_tx_type = "on";
    c.enabled_rx_filter = "all";
    Record with = to_record(c);
    EXPECT_EQ(with["enabled_tx_type"], "on");
    auto back2 = through_cbor<TimestampCapabilities>(with);
    ASSERT_TRUE(back2) << back2.error().what;
    EXPECT_EQ(*back2, c);
}
