// libtime/stream/gps_fix: round trip through CBOR, strict checks naming the key.
#include "libtime/stream/gps_fix.hpp"

#include <gtest/gtest.h>

#include "tests/unit/stream/sample_fixtures.hpp"

using namespace timepipe;

namespace {

using timepipe::test::error_of;

GpsFix full() {
    GpsFix f;
    f.source = "gps://ttyS0";
    f.time = 1'772'366'400'123'456'789;
    f.talker = "GN";
    f.valid = true;
    f.utc = "2026-03-01T12:00:00.000Z";
    f.rollover_weeks = 1024;
    f.lock = 3;
    f.quality = 1;
    f.status = "A";
    f.mode = "A";
    f.satellites = 8;
    f.hdop = 0.9;
    f.latitude = 48.1173;
    f.longitude = -11.5167;
    f.altitude = 545.4;
    return f;
}

}  // namespace

TEST(GpsFixRecord, RoundTrip) {
    GpsFix f = full();
    auto bytes = encode_record(to_record(f));
    ASSERT_TRUE(bytes);
    auto back = decode_records(*bytes);
    ASSERT_TRUE(back);
    auto g = from_record<GpsFix>((*back)[0]);
    ASSERT_TRUE(g) << g.error().what;
    EXPECT_EQ(*g, f);
    GpsFix minimal{.source = "gps://stdin", .time = 1, .talker = "GP", .valid = false, .utc = {}, .leap_second = {},
                   .rollover_weeks = {}, .lock = {}, .quality = {}, .status = {}, .mode = {}, .satellites = {},
                   .hdop = {}, .latitude = {}, .longitude = {}, .altitude = {}, .reason = "no date yet"};
    auto m = from_record<GpsFix>(to_record(minimal));
    ASSERT_TRUE(m) << m.error().what;
    EXPECT_EQ(*m, minimal);
}

TEST(GpsFixRecord, StrictChecks) {
    Record r = to_record(full());
    auto with = [&](const char* key, Record v) {
        Record c = r;
        c[key] = std::move(v);
        return error_of<GpsFix>(c);
    };
    EXPECT_EQ(with("type", "sample"), "gps_fix: not a gps_fix record (type \"sample\")");
    EXPECT_EQ(with("latitude", 91.0), "gps_fix: \"latitude\": 91 is not in -90..90");
    EXPECT_EQ(with("longitude", "east"), "gps_fix: \"longitude\": not a number");
    EXPECT_EQ(with("satellites", 100), "gps_fix: \"satellites\": 100 is not in 0..99");
    EXPECT_EQ(with("quality", 9), "gps_fix: \"quality\": 9 is not in 0..8");
    EXPECT_EQ(with("hdop", -1.0), "gps_fix: \"hdop\": negative");
    EXPECT_EQ(with("talker", "GPS"), "gps_fix: \"talker\": not two characters");
    EXPECT_EQ(with("utc", "2026-03-01 12:00:00"), "gps_fix: \"utc\": not YYYY-MM-DDTHH:MM:SS.mmmZ");
    EXPECT_EQ(with("utc", "2026-13-01T12:00:00.000Z"), "gps_fix: \"utc\": not YYYY-MM-DDTHH:MM:SS.mmmZ");
    EXPECT_EQ(with("status", "X"), "gps_fix: \"status\": not A or V");
    EXPECT_EQ(with("rollover_weeks", 1000), "gps_fix: \"rollover_weeks\": 1000 is not in 1024..65536");
    EXPECT_EQ(with("rollover_weeks", 1025), "gps_fix: \"rollover_weeks\": not a multiple of 1024");
    EXPECT_EQ(with("reason", "x"), "gps_fix: \"reason\" with \"valid\": true");
    EXPECT_EQ(with("valid", false), "gps_fix: \"valid\": false without \"reason\"");
    EXPECT_EQ(with("leap_second", true), "gps_fix: \"leap_second\": true but \"utc\" is not 23:59:60");
    EXPECT_EQ(with("valid", 1), "gps_fix: \"valid\": not a boolean");
    Record no_source = r;
    no_source.erase("source");
    EXPECT_EQ(error_of<GpsFix>(no_source), "gps_fix: missing \"source\"");
    Record extra = r;
    extra["future_key"] = 7;
    EXPECT_EQ(error_of<GpsFix>(extra), "no error");  // unknown keys are ignored
    Record leap = r;
    leap["utc"] = "2016-12-31T23:59:60.000Z";
    leap["leap_second"] = true;
    EXPECT_EQ(error_of<GpsFix>(leap), "no error");
}
