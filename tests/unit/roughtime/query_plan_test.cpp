// libtime/roughtime_query_plan: version-set names, public keys from the command line, the retry
// backoff, the RFC 10049 §8.2 measurement sequence (random picks, each exactly twice, in the same
// order), the sample record of a verified answer, ISO 8601 times and TCP frame lengths.
// Randomized properties print their seed (TIMEPIPE_SEED=N replays).
#include "libtime/roughtime/query_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "libtime/roughtime/server_list.hpp"
#include "libtime/stream/records.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::roughtime;

TEST(RoughtimeQueryPlan, VersionSets) {
    EXPECT_EQ(*parse_version_set("rfc"), std::vector{Version::Rfc});
    EXPECT_EQ(*parse_version_set("draft-12"), std::vector{Version::Draft12});
    EXPECT_EQ(*parse_version_set("draft12"), std::vector{Version::Draft12});
    EXPECT_EQ(*parse_version_set("draft08,draft-11"), (std::vector{Version::Draft08, Version::Draft11}));
    EXPECT_EQ(*parse_version_set("google"), std::vector{Version::Google});
    EXPECT_EQ(*parse_version_set("ietf"), default_versions());
    EXPECT_EQ(*parse_version_set("all"), default_versions());
    EXPECT_EQ(*parse_version_set("rfc,rfc"), std::vector{Version::Rfc});
    const auto ietf = default_versions();
    EXPECT_EQ(ietf.size(), 4u);
    EXPECT_EQ(std::count(ietf.begin(), ietf.end(), Version::Google), 0);
    for (const char* bad : {"", "rfc,", "draft13", "RFC", "google,rfc", "ietf,google"}) {
        auto r = parse_version_set(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().exit_code, EX_USAGE);
    }
    EXPECT_EQ(parse_version_set("x").error().what,
              "unknown version \"x\" (rfc, draft-12, draft-11, draft-08, google, ietf)");
    for (const auto& t : all_versions())  // every short name reads back
        EXPECT_EQ(*parse_version_set(short_name(t.version)), std::vector{t.version});
}

TEST(RoughtimeQueryPlan, PublicKeys) {
    const std::string b64 = "AW5uAoTSTDfG5NfY1bTh08GUnOqlRb+HVhbJ3ODJvsE=";
    auto k = parse_public_key(b64);
    ASSERT_TRUE(k);
    EXPECT_EQ(base64_encode(*k), b64);
    EXPECT_EQ(*parse_public_key("AW5uAoTSTDfG5NfY1bTh08GUnOqlRb-HVhbJ3ODJvsE"), *k);  // URL-safe, no padding
    auto h = parse_public_key("016e6e0284d24c37c6e4d7d8d5b4e1d3c1949ceaa545bf875616c9dce0c9bec1");
    ASSERT_TRUE(h);
    EXPECT_EQ(*h, *k);
    EXPECT_EQ(parse_public_key("not a key!").error().what, "not base64 or hex");
    EXPECT_EQ(parse_public_key("AAAA").error().what, "not 32 bytes but 3");
    EXPECT_EQ(parse_public_key("AAAA").error().exit_code, EX_USAGE);
}

TEST(RoughtimeQueryPlan, RetryBackoff) {
    using std::chrono::milliseconds;
    RetryPlan p;
    p.timeout = milliseconds(100);
    p.retries = 3;
    EXPECT_EQ(p.tries(), 4);
    EXPECT_EQ(p.try_timeout(0), milliseconds(100));
    EXPECT_EQ(p.try_timeout(1), milliseconds(200));
    EXPECT_EQ(p.try_timeout(3), milliseconds(800));
    EXPECT_EQ(p.total(), milliseconds(1500));
    p.max_timeout = milliseconds(300);
    EXPECT_EQ(p.try_timeout(3), milliseconds(300));
    EXPECT_EQ(p.try_timeout(60), milliseconds(300));  // no overflow
    p.retries = 0;
    EXPECT_EQ(p.total(), milliseconds(100));
}

TEST(RoughtimeQueryPlan, MeasurementSequenceIsRandomAndTwice) {
    std::mt19937_64 rng(test::test_seed("roughtime_query_plan_test"));
    UniformRandom uniform = [&](std::uint32_t bound) {
        return std::uniform_int_distribution<std::uint32_t>(0, bound - 1)(rng);
    };
    std::set<std::vector<std::size_t>> seen;
    for (int round = 0; round < 300; ++round) {
        const std::size_t servers = 3 + rng() % 8;
        const std::size_t pick = rng() % 2 ? 0 : 3 + rng() % (servers - 2);
        auto order = measurement_sequence(servers, pick, uniform);
        ASSERT_TRUE(order);
        const std::size_t n = pick == 0 ? servers : pick;
        ASSERT_EQ(order->size(), 2 * n);
        // The second half repeats the first, and the first has no repeats.
        EXPECT_TRUE(std::equal(order->begin(), order->begin() + static_cast<std::ptrdiff_t>(n),
                               order->begin() + static_cast<std::ptrdiff_t>(n)));
        std::set<std::size_t> distinct(order->begin(), order->end());
        EXPECT_EQ(distinct.size(), n);
        EXPECT_LT(*distinct.rbegin(), servers);
        if (servers == 3 && pick == 0) seen.insert(*order);
    }
    EXPECT_GT(seen.size(), 1u);  // the order is random, not the list's
    for (auto [servers, pick] : {std::pair<std::size_t, std::size_t>{2, 0}, {5, 2}, {3, 4}, {0, 0}}) {
        auto r = measurement_sequence(servers, pick, uniform);
        ASSERT_FALSE(r) << servers << " " << pick;
        EXPECT_EQ(r.error().exit_code, EX_USAGE);
    }
    EXPECT_EQ(measurement_sequence(2, 0, uniform).error().what,
              "2 servers: a measurement sequence needs at least 3 (RFC 10049 §8.2)");
}

TEST(RoughtimeQueryPlan, SampleRecord) {
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
    EXPECT_DOUBLE_EQ(s->dispersion, 5.0);
    EXPECT_EQ(s->stratum, 1);
    EXPECT_EQ(s->refid, "ROUG");
    EXPECT_EQ(s->leap, 0);
    EXPECT_EQ(s->poll, 0);
    EXPECT_DOUBLE_EQ(*s->root_delay, 0.2);
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

TEST(RoughtimeQueryPlan, Iso8601) {
    EXPECT_EQ(iso8601_utc(1'747'944'450 * kNanosPerSecond), "2025-05-22T20:07:30Z");
    EXPECT_EQ(iso8601_utc(50'000'123'000), "1970-01-01T00:00:50.000123Z");
    EXPECT_EQ(iso8601_utc(1), "1970-01-01T00:00:00.000000001Z");
    EXPECT_EQ(iso8601_utc(-1), "1969-12-31T23:59:59.999999999Z");
}
