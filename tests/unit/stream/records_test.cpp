// libtime/stream_records (+ -o parsing of libtime/output_format): typed round trips
// (randomized, TIMEPIPE_SEED=N replays), every key's type and range check naming the key,
// unknown keys ignored. The text table is tested in sample_table_test.cpp.
#include "libtime/stream/records.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <random>

#include "libtime/stream/output_format.hpp"
#include "libtime/sys/file.hpp"
#include "tests/unit/stream/sample_fixtures.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;

namespace {

using timepipe::test::test_seed;

using timepipe::test::full_sample;
using timepipe::test::minimal_sample;
using timepipe::test::through_cbor;

std::string sample_error(Record r) {
    auto s = from_record<Sample>(r);
    if (s) return "no error";
    EXPECT_EQ(s.error().exit_code, EX_DATAERR);
    return s.error().what;
}

}  // namespace

TEST(StreamRecords, SampleKeysInOrder) {
    Record r = to_record(full_sample());
    std::vector<std::string> keys;
    for (const auto& item : r.items()) keys.push_back(item.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"v", "type", "source", "time", "offset", "delay", "dispersion",
                                              "stratum", "leap", "refid", "poll", "root_delay", "root_dispersion",
                                              "jitter", "reach", "precision", "version", "interleaved", "kod"}));
    EXPECT_TRUE(check_record(r));
    EXPECT_EQ(r["v"], 1);
    EXPECT_EQ(r["type"], "sample");
    EXPECT_TRUE(r["time"].is_number_integer());
    EXPECT_TRUE(r["offset"].is_number_float());
    // Optional keys are absent when unset.
    Record m = to_record(minimal_sample());
    EXPECT_EQ(m.size(), 11u);
    EXPECT_FALSE(m.contains("reach"));
}

TEST(StreamRecords, SampleRoundTrip) {
    for (const Sample& s : {full_sample(), minimal_sample()}) {
        auto back = through_cbor<Sample>(to_record(s));
        ASSERT_TRUE(back) << back.error().what;
        EXPECT_EQ(*back, s);
    }
}

TEST(StreamRecords, StatsRoundTrip) {
    Stats st{"ntp://127.0.0.1:123", 1700000000000000001, {{"sent", 4}, {"received", 3},
                                                          {"huge", std::numeric_limits<std::uint64_t>::max()}}};
    Record r = to_record(st);
    EXPECT_EQ(r["type"], "stats");
    auto back = through_cbor<Stats>(r);
    ASSERT_TRUE(back) << back.error().what;
    EXPECT_EQ(*back, st);
}

TEST(StreamRecords, UnknownKeysIgnored) {
    Record r = to_record(full_sample());
    r["future"] = Record::object({{"anything", Record::array({1, "x"})}});
    r["z"] = nullptr;
    auto s = through_cbor<Sample>(r);
    ASSERT_TRUE(s) << s.error().what;
    EXPECT_EQ(*s, full_sample());
}

TEST(StreamRecords, LosslessTime) {
    for (std::int64_t t : {std::numeric_limits<std::int64_t>::min(), std::int64_t{-1},
                           std::int64_t{9007199254740993}, std::numeric_limits<std::int64_t>::max()}) {
        Sample s = minimal_sample();
        s.time = t;
        auto back = through_cbor<Sample>(to_record(s));
        ASSERT_TRUE(back);
        EXPECT_EQ(back->time, t);
    }
}

TEST(StreamRecords, FloatFieldsAcceptIntegers) {
    Record r = to_record(minimal_sample());
    r["offset"] = 0;
    r["delay"] = 1;
    auto s = from_record<Sample>(r);
    ASSERT_TRUE(s) << s.error().what;
    EXPECT_EQ(s->delay, 1.0);
}

TEST(StreamRecords, EachKeyCheckedAndNamed) {
    auto with = [](const char* key, Record value) {
        Record r = to_record(full_sample());
        r[key] = std::move(value);
        return sample_error(r);
    };
    auto without = [](const char* key) {
        Record r = to_record(full_sample());
        r.erase(key);
        return sample_error(r);
    };
    EXPECT_EQ(with("type", "stats"), "sample: not a sample record (type \"stats\")");
    for (const char* k : {"source", "time", "offset", "delay", "dispersion", "stratum", "leap", "refid", "poll"})
        EXPECT_EQ(without(k), std::string("sample: missing \"") + k + "\"");
    for (const char* k : {"root_delay", "root_dispersion", "jitter", "reach", "precision", "version", "interleaved", "kod"})
        EXPECT_EQ(without(k), "no error") << k;
    EXPECT_EQ(with("source", 1), "sample: \"source\": not a text string");
    EXPECT_EQ(with("source", ""), "sample: \"source\": empty");
    EXPECT_EQ(with("time", 1.5), "sample: \"time\": not an integer");
    EXPECT_EQ(with("time", std::numeric_limits<std::uint64_t>::max()),
              "sample: \"time\": 18446744073709551615 is not in -9223372036854775808..9223372036854775807");
    EXPECT_EQ(with("offset", "0"), "sample: \"offset\": not a number");
    EXPECT_EQ(with("delay", true), "sample: \"delay\": not a number");
    EXPECT_EQ(with("offset", -5.0), "no error");
    EXPECT_EQ(with("delay", -0.001), "no error");  // NTP delay can come out negative
    EXPECT_EQ(with("dispersion", -0.1), "sample: \"dispersion\": negative");
    EXPECT_EQ(with("stratum", 256), "sample: \"stratum\": 256 is not in 0..255");
    EXPECT_EQ(with("stratum", -1), "sample: \"stratum\": -1 is not in 0..255");
    EXPECT_EQ(with("leap", 4), "sample: \"leap\": 4 is not in 0..3");
    EXPECT_EQ(with("leap", 3), "no error");
    EXPECT_EQ(with("refid", Record::binary({1})), "sample: \"refid\": not a text string");
    EXPECT_EQ(with("refid", ""), "no error");
    EXPECT_EQ(with("poll", 128), "sample: \"poll\": 128 is not in -128..127");
    EXPECT_EQ(with("poll", -7), "no error");
    EXPECT_EQ(with("root_delay", -1.0), "sample: \"root_delay\": negative");
    EXPECT_EQ(with("root_dispersion", "x"), "sample: \"root_dispersion\": not a number");
    EXPECT_EQ(with("jitter", -1e-9), "sample: \"jitter\": negative");
    EXPECT_EQ(with("reach", 256), "sample: \"reach\": 256 is not in 0..255");
    EXPECT_EQ(with("precision", -129), "sample: \"precision\": -129 is not in -128..127");
    EXPECT_EQ(with("version", 0), "sample: \"version\": 0 is not in 1..7");
    EXPECT_EQ(with("version", 8), "sample: \"version\": 8 is not in 1..7");
    EXPECT_EQ(with("interleaved", 1), "sample: \"interleaved\": not a boolean");
    EXPECT_EQ(with("kod", ""), "sample: \"kod\": empty");
    EXPECT_EQ(with("auth", ""), "sample: \"auth\": empty");
    EXPECT_EQ(with("auth", 1), "sample: \"auth\": not a text string");
}

TEST(StreamRecords, VerifiedAndConflictKeys) {
    Sample s = minimal_sample();
    EXPECT_FALSE(to_record(s).contains("verified"));
    EXPECT_FALSE(to_record(s).contains("conflict"));
    s.verified = true;
    Record r = to_record(s);
    EXPECT_EQ(r["verified"], true);
    auto back = through_cbor<Sample>(r);
    ASSERT_TRUE(back) << back.error().what;
    EXPECT_EQ(*back, s);
    s.verified = false;
    s.conflict = true;
    back = through_cbor<Sample>(to_record(s));
    ASSERT_TRUE(back) << back.error().what;
    EXPECT_EQ(*back, s);
    Record bad = to_record(s);
    bad["verified"] = true;
    EXPECT_EQ(sample_error(bad), "sample: \"verified\": true for a sample in a conflict");
    bad["verified"] = 1;
    EXPECT_EQ(sample_error(bad), "sample: \"verified\": not a boolean");
    bad["verified"] = false;
    bad["conflict"] = "yes";
    EXPECT_EQ(sample_error(bad), "sample: \"conflict\": not a boolean");
}

RoughtimeConflict a_conflict() {
    RoughtimeConflict c;
    c.source = "roughtime://127.0.0.1:2002";
    c.time = 1700000000123456789;
    c.later_source = "roughtime://[::1]:2003";
    c.earlier_midpoint = 1700086400000000000;
    c.earlier_radius = 3;
    c.later_midpoint = 1700000000100000000;
    c.later_radius = 1.5;
    c.excess = 86395.4;
    c.earlier_step = 0;
    c.later_step = 2;
    return c;
}

TEST(StreamRecords, RoughtimeConflictRoundTripAndKeys) {
    const RoughtimeConflict c = a_conflict();
    Record r = to_record(c);
    EXPECT_EQ(r["type"], "roughtime_conflict");
    EXPECT_EQ(r["v"], 1);
    std::vector<std::string> keys;
    for (const auto& item : r.items()) keys.push_back(item.key());
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, (std::vector<std::string>{"earlier_midpoint", "earlier_radius", "earlier_step", "excess",
                                              "later_midpoint", "later_radius", "later_source", "later_step",
                                              "source", "time", "type", "v"}));
    auto back = through_cbor<RoughtimeConflict>(r);
    ASSERT_TRUE(back) << back.error().what;
    EXPECT_EQ(*back, c);
    EXPECT_EQ(back->earlier_midpoint, 1700086400000000000);  // integers: no precision lost
}

TEST(StreamRecords, RoughtimeConflictChecked) {
    auto error = [](const Record& r) {
        auto c = from_record<RoughtimeConflict>(r);
        return c ? std::string("no error") : c.error().what;
    };
    auto with = [&](const char* key, Record value) {
        Record r = to_record(a_conflict());
        r[key] = std::move(value);
        return error(r);
    };
    for (const char* k : {"source", "time", "later_source", "earlier_midpoint", "earlier_radius", "later_midpoint",
                          "later_radius", "excess", "earlier_step", "later_step"}) {
        Record r = to_record(a_conflict());
        r.erase(k);
        EXPECT_EQ(error(r), std::string("roughtime_conflict: missing \"") + k + "\"");
    }
    EXPECT_EQ(with("earlier_midpoint", 1.5), "roughtime_conflict: \"earlier_midpoint\": not an integer");
    EXPECT_EQ(with("later_radius", -1.0), "roughtime_conflict: \"later_radius\": negative");
    EXPECT_EQ(with("excess", 0), "roughtime_conflict: \"excess\": not positive");
    EXPECT_EQ(with("earlier_step", -1), "roughtime_conflict: \"earlier_step\": -1 is not in 0..9223372036854775807");
    EXPECT_EQ(with("later_step", 0), "roughtime_conflict: \"later_step\": not after \"earlier_step\"");
    EXPECT_EQ(with("later_source", ""), "roughtime_conflict: \"later_source\": empty");
    EXPECT_EQ(with("future", "ignored"), "no error");
    EXPECT_EQ(error(to_record(full_sample())),
              "roughtime_conflict: not a roughtime_conflict record (type \"sample\")");
}

TEST(StreamRecords, StatsChecked) {
    Record r = to_record(Stats{"ntp://x:123", 5, {{"sent", 1}}});
    r["counters"]["bad"] = -1;
    auto s = from_record<Stats>(r);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().what, "stats: \"counters\": counter \"bad\" is not an unsigned integer");
    r["counters"] = Record::array();
    EXPECT_EQ(from_record<Stats>(r).error().what, "stats: \"counters\": not a map");
    r.erase("counters");
    EXPECT_EQ(from_record<Stats>(r).error().what, "stats: missing \"counters\"");
    EXPECT_EQ(from_record<Stats>(to_record(full_sample())).error().what, "stats: not a stats record (type \"sample\")");
}

TEST(StreamRecords, RandomRoundTrip) {
    const std::uint64_t seed = test_seed("StreamRecords.RandomRoundTrip");
    SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    auto pick = [&](std::int64_t lo, std::int64_t hi) {
        return lo + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(hi - lo + 1));
    };
    auto real = [&] { return static_cast<double>(static_cast<std::int64_t>(rng())) / 1e12; };
    for (int i = 0; i < 1000; ++i) {
        Sample s;
        s.source = "ntp://192.0.2." + std::to_string(pick(1, 254)) + ":" + std::to_string(pick(1, 65535));
        s.time = static_cast<std::int64_t>(rng());
        s.offset = real();
        s.delay = real();
        s.dispersion = std::abs(real());
        s.stratum = static_cast<int>(pick(0, 255));
        s.leap = static_cast<int>(pick(0, 3));
        s.refid = rng() % 2 ? "GPS" : "10.0.0.1";
        s.poll = static_cast<int>(pick(-128, 127));
        if (rng() % 2) s.root_delay = std::abs(real());
        if (rng() % 2) s.root_dispersion = std::abs(real());
        if (rng() % 2) s.jitter = std::abs(real());
        if (rng() % 2) s.reach = static_cast<std::uint8_t>(rng());
        if (rng() % 2) s.precision = static_cast<int>(pick(-128, 127));
        if (rng() % 2) s.version = static_cast<int>(pick(1, 7));
        if (rng() % 2) s.interleaved = rng() % 2 == 1;
        if (rng() % 2) s.kod = "DENY";
        if (rng() % 2) s.auth = rng() % 2 ? "nts" : "none";
        auto back = through_cbor<Sample>(to_record(s));
        ASSERT_TRUE(back) << back.error().what;
        ASSERT_EQ(*back, s) << to_record(s).dump();
    }
}

// ---- -o ------------------------------------------------------------------------------------

TEST(OutputFormat, Parse) {
    EXPECT_EQ(*parse_output_format("text"), OutputFormat::text);
    EXPECT_EQ(*parse_output_format("json"), OutputFormat::json);
    EXPECT_EQ(*parse_output_format("cbor"), OutputFormat::cbor);
    auto bad = parse_output_format("CBOR");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().exit_code, EX_USAGE);
    EXPECT_EQ(bad.error().what, "-o: unknown output format \"CBOR\" (text, json or cbor)");
    for (auto f : {OutputFormat::text, OutputFormat::json, OutputFormat::cbor})
        EXPECT_EQ(*parse_output_format(to_string(f)), f);
    // Under the test runner stdout is whatever it is; the default follows it.
    EXPECT_EQ(default_output_format(OutputFormat::json),
              stdout_is_terminal() ? OutputFormat::text : OutputFormat::json);
}
