#include "libtime/server/upstream_reference.hpp"

#include <gtest/gtest.h>

#include <array>

using namespace timepipe;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;
constexpr UnixNanos kT0 = 1'700'000'000 * kSec;

Sample sample(UnixNanos t, double offset, double delay, int stratum = 2) {
    Sample s;
    s.source = "ntp://192.0.2.1:123";
    s.time = t;
    s.offset = offset;
    s.delay = delay;
    s.dispersion = 0.001;
    s.stratum = stratum;
    s.leap = 0;
    s.refid = "GPS";
    s.poll = 6;
    s.root_delay = 0.010;
    s.root_dispersion = 0.020;
    return s;
}

}  // namespace

TEST(UpstreamReference, UnsynchronisedBeforeAnySample) {
    UpstreamReference ref;
    auto st = ref.state_at(kT0, -20);
    EXPECT_EQ(st, ntp::unsynchronised_state(-20));
    EXPECT_EQ(st.leap, ntp::Leap::Unsynchronized);
    EXPECT_EQ(st.stratum, 0);
}

TEST(UpstreamReference, StratumPlusOneRefidAndRootDistanceSums) {
    UpstreamReference ref;
    ASSERT_TRUE(ref.add(sample(kT0, 0.0025, 0.004)).has_value());
    auto st = ref.state_at(kT0 + 10 * kSec, -22);
    EXPECT_EQ(st.leap, ntp::Leap::None);
    EXPECT_EQ(st.stratum, 3);
    EXPECT_EQ(st.precision, -22);
    EXPECT_EQ(st.refid, 0xC0000201u);  // 192.0.2.1
    EXPECT_NEAR(ntp::short_to_seconds(st.root_delay), 0.010 + 0.004, 2e-5);
    EXPECT_NEAR(ntp::short_to_seconds(st.root_dispersion), 0.020 + 0.001 + 15e-6 * 10, 2e-5);
    EXPECT_EQ(st.correction_ns, 2'500'000);
    EXPECT_EQ(st.reference, ntp::from_unix_nanos(kT0 + 2'500'000));
}

TEST(UpstreamReference, NoCorrect) {
    UpstreamReference ref({.stale_after_ns = std::nullopt, .correct = false});
    ASSERT_TRUE(ref.add(sample(kT0, 0.5, 0.004)).has_value());
    EXPECT_EQ(ref.state_at(kT0, -20).correction_ns, 0);
}

TEST(UpstreamReference, LeapComesFromUpstream) {
    UpstreamReference ref;
    Sample s = sample(kT0, 0, 0.004);
    s.leap = 2;
    ASSERT_TRUE(ref.add(s).has_value());
    EXPECT_EQ(ref.state_at(kT0, -20).leap, ntp::Leap::DeleteSecond);
}

TEST(UpstreamReference, BestOfTheLastEightByDelay) {
    UpstreamReference ref;
    ASSERT_TRUE(ref.add(sample(kT0, 0.100, 0.001, 5)).has_value());  // best, but pushed out below
    for (int i = 1; i <= 8; ++i)
        ASSERT_TRUE(ref.add(sample(kT0 + i * kSec, 0.001 * i, 0.010 + (i == 4 ? -0.005 : 0.0))).has_value());
    auto b = ref.best();
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->time, kT0 + 4 * kSec);
    auto st = ref.state_at(kT0 + 9 * kSec, -20);
    EXPECT_EQ(st.correction_ns, 4'000'000);
    EXPECT_EQ(st.stratum, 3);
}

TEST(UpstreamReference, StaleOrEndedMeansUnsynchronised) {
    UpstreamReference ref({.stale_after_ns = 30 * kSec, .correct = true});
    ASSERT_TRUE(ref.add(sample(kT0, 0, 0.004)).has_value());
    EXPECT_EQ(ref.state_at(kT0 + 30 * kSec, -20).stratum, 3);
    EXPECT_EQ(ref.state_at(kT0 + 31 * kSec, -20).leap, ntp::Leap::Unsynchronized);
    EXPECT_EQ(ref.state_at(kT0 + 31 * kSec, -20).stratum, 0);
    ref.end();
    EXPECT_EQ(ref.state_at(kT0, -20).leap, ntp::Leap::Unsynchronized);
}

TEST(UpstreamReference, DefaultStaleAfterFollowsThePoll) {
    UpstreamReference ref;
    EXPECT_EQ(ref.stale_after_ns(), UpstreamReference::kMinStale);
    Sample s = sample(kT0, 0, 0.004);
    s.poll = 6;  // 8 × 64 s
    ASSERT_TRUE(ref.add(s).has_value());
    EXPECT_EQ(ref.stale_after_ns(), 512 * kSec);
    s.poll = 10;
    ASSERT_TRUE(ref.add(s).has_value());
    EXPECT_EQ(ref.stale_after_ns(), UpstreamReference::kMaxStale);
    s.poll = -2;
    ASSERT_TRUE(ref.add(s).has_value());
    EXPECT_EQ(ref.stale_after_ns(), UpstreamReference::kMinStale);
}

TEST(UpstreamReference, UnusableSamplesAreRefusedAndChangeNothing) {
    UpstreamReference ref;
    Sample kod = sample(kT0, 0, 0.004);
    kod.kod = "RATE";
    Sample unsync = sample(kT0, 0, 0.004);
    unsync.leap = 3;
    Sample s0 = sample(kT0, 0, 0.004, 0);
    Sample s15 = sample(kT0, 0, 0.004, 15);
    Sample neg = sample(kT0, 0, -0.004);
    Sample nan = sample(kT0, std::nan(""), 0.004);
    Sample noaddr = sample(kT0, 0, 0.004);
    noaddr.source = "";
    for (const Sample& s : {kod, unsync, s0, s15, neg, nan, noaddr}) {
        auto r = ref.add(s);
        EXPECT_FALSE(r.has_value());
        if (!r) {
            EXPECT_EQ(r.error().exit_code, EX_DATAERR);
        }
    }
    EXPECT_FALSE(ref.best().has_value());
}

TEST(UpstreamReference, RefidForSource) {
    EXPECT_EQ(refid_for_source("ntp://192.0.2.1:123"), 0xC0000201u);
    EXPECT_EQ(refid_for_source("198.51.100.7"), 0xC6336407u);
    std::array<std::byte, 16> v6{};
    v6[0] = std::byte{0x20}; v6[1] = std::byte{0x01}; v6[2] = std::byte{0x0d}; v6[3] = std::byte{0xb8};
    v6[15] = std::byte{1};
    auto expected = ntp::refid_from_ipv6(v6);
    ASSERT_TRUE(expected.has_value());
    EXPECT_EQ(refid_for_source("ntp://[2001:db8::1]:123"), expected);
    auto a = refid_for_source("ntp://time.example:123"), b = refid_for_source("ntp://time.example.org:123");
    ASSERT_TRUE(a && b);
    EXPECT_NE(*a, *b);
    EXPECT_EQ(refid_for_source("ntp://time.example:4123"), a);  // the port does not matter
    EXPECT_FALSE(refid_for_source("ntp://[::1"));
}
