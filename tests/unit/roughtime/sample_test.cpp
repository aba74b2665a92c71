// libtime/roughtime/sample: a verified answer as a time-stream sample record, and ISO 8601.
#include "libtime/roughtime/sample.hpp"

#include <gtest/gtest.h>

#include "libtime/stream/records.hpp"

using namespace timepipe;
using namespace timepipe::roughtime;

TEST(RoughtimeSample, SampleRecord) {
    VerifiedTime t;
    t.midpoint = 1'747'944'450 * kNanosPerSecond;
    t.radius_ns = 5 * kNanosPerSecond;
    t.version = Version::Draft12;
    const UnixNanos sent = t.midpoint - 3 * kNanosPerSecond;  // local clock 2.9 s behind
    const UnixNanos received = sent + 200'000'000;
    EXPECT_DOUBLE_EQ(clock_offset(t.midpoint, sent, received), 2.9);
    Record r = sample_record("roughtime://127.0.0.1:2002", t, sent, received);
    auto s = from_record<Sample>(r);
    ASSERT_TRUE(s) << s.error().what;
    EXPECT_EQ(s->source, "roughtime://127.0.0.1:2002");
    EXPECT_EQ(s->time, received);
    EXPECT_DOUBLE_EQ(s->offset, 2.9);
    EXPECT_DOUBLE_EQ(s->delay, 0.2);
    EXPECT_DOUBLE_EQ(s->dispersion, 0.0);  // the radius is the root dispersion, counted once
    EXPECT_EQ(s->stratum, 1);
    EXPECT_EQ(s->refid, "ROUG");
    EXPECT_EQ(s->leap, 0);
    EXPECT_EQ(s->poll, 0);
    EXPECT_FALSE(s->root_delay);  // the round trip is `delay`, counted once
    EXPECT_DOUBLE_EQ(*s->root_dispersion, 5.0);
    EXPECT_FALSE(s->version);  // the NTP version key stays out
    EXPECT_EQ(r["roughtime_version"], "draft-12");
    EXPECT_EQ(r["verified"], true);
    EXPECT_EQ(s->verified, true);
    EXPECT_FALSE(s->conflict);
    EXPECT_TRUE(encode_record(r));

    Record c = sample_record("roughtime://127.0.0.1:2002", t, sent, received, ChainVerdict::Conflict);
    auto sc = from_record<Sample>(c);
    ASSERT_TRUE(sc) << sc.error().what;
    EXPECT_EQ(sc->verified, false);
    EXPECT_EQ(sc->conflict, true);
}

TEST(RoughtimeSample, Iso8601) {
    EXPECT_EQ(iso8601_utc(1'747'944'450 * kNanosPerSecond), "2025-05-22T20:07:30Z");
    EXPECT_EQ(iso8601_utc(50'000'123'000), "1970-01-01T00:00:50.000123Z");
    EXPECT_EQ(iso8601_utc(1), "1970-01-01T00:00:00.000000001Z");
    EXPECT_EQ(iso8601_utc(-1), "1969-12-31T23:59:59.999999999Z");
}
