#include "libtime/server/upstream_reference.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>

#include "tests/unit/test_support.hpp"

using namespace timepipe;

namespace {

using timepipe::test::kSec;
using timepipe::test::kT0;

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
    ASSERT_TRUE(ref.add(sample(kT0, 0.0025, 0.004), kT0).has_value());
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
    ASSERT_TRUE(ref.add(sample(kT0, 0.5, 0.004), kT0).has_value());
    EXPECT_EQ(ref.state_at(kT0, -20).correction_ns, 0);
}

TEST(UpstreamReference, LeapComesFromUpstream) {
    UpstreamReference ref;
    Sample s = sample(kT0, 0, 0.004);
    s.leap = 2;
    ASSERT_TRUE(ref.add(s, kT0).has_value());
    EXPECT_EQ(ref.state_at(kT0, -20).leap, ntp::Leap::DeleteSecond);
}

TEST(UpstreamReference, LowestDelayOfTheLastEightOfASource) {
    UpstreamReference ref;
    ASSERT_TRUE(ref.add(sample(kT0, 0.100, 0.001, 5), kT0).has_value());  // best, but pushed out below
    for (int i = 1; i <= 8; ++i)
        ASSERT_TRUE(ref.add(sample(kT0 + i * kSec, 0.001 * i, 0.010 + (i == 4 ? -0.005 : 0.0)), kT0 + i * kSec).has_value());
    ref.update(kT0 + 9 * kSec);
    auto st = ref.state_at(kT0 + 9 * kSec, -20);
    EXPECT_EQ(st.correction_ns, 4'000'000);
    EXPECT_EQ(st.stratum, 3);
    EXPECT_EQ(st.reference, ntp::from_unix_nanos(kT0 + 4 * kSec + 4'000'000));
}

TEST(UpstreamReference, StaleOrEndedMeansUnsynchronised) {
    UpstreamReference ref({.stale_after_ns = 30 * kSec, .correct = true});
    ASSERT_TRUE(ref.add(sample(kT0, 0, 0.004), kT0).has_value());
    ref.update(kT0);
    EXPECT_EQ(ref.report().status, UpstreamStatus::synchronised);
    EXPECT_EQ(ref.next_change(), kT0 + 30 * kSec);
    EXPECT_EQ(ref.state_at(kT0 + 30 * kSec, -20).stratum, 3);
    EXPECT_EQ(ref.state_at(kT0 + 31 * kSec, -20).leap, ntp::Leap::Unsynchronized);
    EXPECT_EQ(ref.state_at(kT0 + 31 * kSec, -20).stratum, 0);
    ref.update(kT0 + 31 * kSec);
    EXPECT_EQ(ref.report().status, UpstreamStatus::stale);
    EXPECT_EQ(ref.report().line, "unsynchronised: every sample is stale (the newest is 31 s old)");
    ref.end();
    EXPECT_EQ(ref.state_at(kT0, -20).leap, ntp::Leap::Unsynchronized);
    ref.update(kT0);
    EXPECT_EQ(ref.report().status, UpstreamStatus::ended);
}

TEST(UpstreamReference, DefaultStaleAfterIsEightPollsOfTheSampleAtLeast16s) {
    UpstreamReference ref;
    EXPECT_EQ(ref.stale_after_ns(6), 512 * kSec);
    EXPECT_EQ(ref.stale_after_ns(10), 8192 * kSec);  // never capped below the poll itself
    EXPECT_EQ(ref.stale_after_ns(17), 8 * 131072 * kSec);
    EXPECT_EQ(ref.stale_after_ns(-2), UpstreamReference::kMinStale);
    UpstreamReference fixed({.stale_after_ns = 5 * kSec});
    EXPECT_EQ(fixed.stale_after_ns(10), 5 * kSec);
}

// The README pipeline: ntp-query --follow polls every 1024-1088 s at maxpoll 10. The upstream
// must stay synchronised between two samples, and root dispersion grow with the age.
TEST(UpstreamReference, AMaxpoll10UpstreamStaysSynchronisedBetweenPolls) {
    UpstreamReference ref;
    Sample s = sample(kT0, 0, 0.004);
    s.poll = 10;
    ASSERT_TRUE(ref.add(s, kT0).has_value());
    ref.update(kT0);
    EXPECT_EQ(ref.next_change(), kT0 + 8192 * kSec);
    for (std::int64_t age : {1024, 1088, 1100, 4000}) {
        auto t = ref.at(kT0 + age * kSec);
        EXPECT_TRUE(t.synchronised) << age;
        EXPECT_NEAR(t.root_dispersion, 0.020 + 0.001 + 15e-6 * static_cast<double>(age), 1e-9) << age;
    }
    EXPECT_FALSE(ref.at(kT0 + 8193 * kSec).synchronised);
}

TEST(UpstreamReference, RootDistanceBeyondMaxDistanceIsUnfit) {
    UpstreamReference ref({.stale_after_ns = std::nullopt, .correct = true, .max_distance = 0.5});
    Sample s = sample(kT0, 0, 0.004);
    s.poll = 17;
    ASSERT_TRUE(ref.add(s, kT0).has_value());
    ref.update(kT0);
    // distance 0.014 / 2 + 0.021 = 0.028 s; PHI × age reaches 0.5 s after (0.5 - 0.028) / 15e-6 s
    const UnixNanos limit = kT0 + std::llround((0.5 - 0.028) / 15e-6 * 1e9);
    EXPECT_NEAR(static_cast<double>(ref.next_change() - limit), 0, 1e6);
    EXPECT_TRUE(ref.at(limit - kSec).synchronised);
    EXPECT_FALSE(ref.at(limit + kSec).synchronised);
    ref.update(limit + kSec);
    EXPECT_EQ(ref.report().status, UpstreamStatus::no_selection);
}

TEST(UpstreamReference, ASampleDatedAheadCountsAsTakenOnArrivalAndStillGoesStale) {
    UpstreamReference ref({.stale_after_ns = 1 * kSec, .correct = true});
    // 0.5 s ahead of our clock: taken as of its arrival, stale 1 s after that.
    ASSERT_TRUE(ref.add(sample(kT0 + kSec / 2, 0, 0.004), kT0).has_value());
    EXPECT_TRUE(ref.at(kT0 + kSec).synchronised);
    EXPECT_FALSE(ref.at(kT0 + kSec + kSec / 10).synchronised);
    // Further ahead than it would stay usable: refused.
    auto r = ref.add(sample(kT0 + 3600 * kSec, 0, 0.004), kT0);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().what, "ntp://192.0.2.1:123: sample dated 3600 s ahead of the local clock, not used");
    // A clock stepped back after the sample arrived: the sample is as old as the step.
    EXPECT_FALSE(ref.at(kT0 - 10 * kSec).synchronised);
}

TEST(UpstreamReference, NoCorrectCountsTheOffsetAsDispersion) {
    UpstreamReference ref({.stale_after_ns = std::nullopt, .correct = false});
    ASSERT_TRUE(ref.add(sample(kT0, 0.5, 0.004), kT0).has_value());
    EXPECT_NEAR(ref.at(kT0).root_dispersion, 0.021 + 0.5, 1e-9);
}

TEST(UpstreamReference, RootDispersionInSecondsIsNotQuantised) {
    UpstreamReference ref;
    Sample s = sample(kT0, 0, 0.004);
    s.root_dispersion = 100000.0;  // beyond the 65536 s of NTP's 16.16 format
    s.root_delay = 0.0000031;
    ASSERT_TRUE(ref.add(s, kT0).has_value());
    // too far for NTP selection (3 s), fine with no limit (Roughtime says how far in RADI)
    EXPECT_FALSE(ref.at(kT0).synchronised);
    UpstreamReference rough({.stale_after_ns = std::nullopt, .correct = true,
                             .max_distance = std::numeric_limits<double>::infinity()});
    ASSERT_TRUE(rough.add(s, kT0).has_value());
    auto t = rough.at(kT0);
    ASSERT_TRUE(t.synchronised);
    EXPECT_DOUBLE_EQ(t.root_delay, 0.0000031 + 0.004);
    EXPECT_DOUBLE_EQ(t.root_dispersion, 100000.001);
    EXPECT_DOUBLE_EQ(t.root_distance(), (0.0000031 + 0.004) / 2 + 100000.001);
}

// A pool: three members agree within 1 ms, one is 5 s off with the lowest delay. The
// falseticker is never served; the survivors' offsets are combined.
TEST(UpstreamReference, SelectionNeverServesAFalseticker) {
    UpstreamReference ref;
    const char* names[] = {"ntp://192.0.2.1:123", "ntp://192.0.2.2:123", "ntp://192.0.2.3:123", "ntp://192.0.2.4:123"};
    const double offsets[] = {0.0101, 0.0104, 0.0108, 5.0};
    const double delays[] = {0.020, 0.021, 0.022, 0.001};
    for (int i = 0; i < 4; ++i) {
        Sample s = sample(kT0, offsets[i], delays[i]);
        s.source = names[i];
        ASSERT_TRUE(ref.add(s, kT0).has_value());
    }
    ref.update(kT0);
    EXPECT_EQ(ref.report().status, UpstreamStatus::synchronised);
    EXPECT_NE(ref.report().peer, names[3]);
    auto st = ref.state_at(kT0, -20);
    EXPECT_NE(st.refid, 0xC0000204u);
    EXPECT_GE(st.correction_ns, 10'100'000);
    EXPECT_LE(st.correction_ns, 10'800'000);
}

TEST(UpstreamReference, TwoSourcesThatDisagreeAreNoMajority) {
    UpstreamReference ref;
    Sample a = sample(kT0, 0.0, 0.004), b = sample(kT0, 2.0, 0.004);
    b.source = "ntp://192.0.2.9:123";
    ASSERT_TRUE(ref.add(a, kT0).has_value());
    ASSERT_TRUE(ref.add(b, kT0).has_value());
    ref.update(kT0);
    EXPECT_EQ(ref.report().status, UpstreamStatus::no_selection);
    EXPECT_EQ(ref.report().line, "unsynchronised: no majority of sources agrees on the time");
    EXPECT_FALSE(ref.at(kT0).synchronised);
}

TEST(UpstreamReference, WhenOneSourceGoesStaleTheOtherTakesOver) {
    UpstreamReference ref;
    Sample a = sample(kT0, 0.001, 0.002), b = sample(kT0 + 100 * kSec, 0.002, 0.010);
    a.poll = 4;  // 128 s
    b.source = "ntp://192.0.2.2:123";
    ASSERT_TRUE(ref.add(a, kT0).has_value());
    ASSERT_TRUE(ref.add(b, kT0 + 100 * kSec).has_value());
    ref.update(kT0 + 100 * kSec);
    EXPECT_EQ(ref.report().peer, "ntp://192.0.2.1:123");
    EXPECT_EQ(ref.next_change(), kT0 + 128 * kSec);
    ref.update(ref.next_change() + 1);
    EXPECT_EQ(ref.report().peer, "ntp://192.0.2.2:123");
    EXPECT_EQ(ref.state_at(kT0 + 129 * kSec, -20).refid, 0xC0000202u);
}

TEST(UpstreamReference, TheSystemPeerStaysWhileItSurvives) {
    UpstreamReference ref;
    Sample a = sample(kT0, 0.001, 0.004), b = sample(kT0, 0.0012, 0.006);
    b.source = "ntp://192.0.2.2:123";
    ASSERT_TRUE(ref.add(a, kT0).has_value());
    ASSERT_TRUE(ref.add(b, kT0).has_value());
    ref.update(kT0);
    EXPECT_EQ(ref.report().peer, "ntp://192.0.2.1:123");
    b = sample(kT0 + kSec, 0.0011, 0.002);  // now b is a little better
    b.source = "ntp://192.0.2.2:123";
    ASSERT_TRUE(ref.add(b, kT0 + kSec).has_value());
    ref.update(kT0 + kSec);
    EXPECT_EQ(ref.report().peer, "ntp://192.0.2.1:123");
    UpstreamReference fresh;  // without a peer before, the best one
    ASSERT_TRUE(fresh.add(a, kT0).has_value());
    ASSERT_TRUE(fresh.add(b, kT0 + kSec).has_value());
    fresh.update(kT0 + kSec);
    EXPECT_EQ(fresh.report().peer, "ntp://192.0.2.2:123");
}

TEST(UpstreamReference, ARoughtimeSampleIsServed) {
    // What roughtime-query writes: stratum 1, radius as dispersion and root dispersion.
    UpstreamReference ref;
    Sample s;
    s.source = "roughtime://127.0.0.1:42002";
    s.time = kT0;
    s.offset = 0.25;
    s.delay = 0.0003;
    s.dispersion = 1.0;
    s.stratum = 1;
    s.refid = "ROUG";
    s.poll = 0;
    s.root_delay = 0.0003;
    s.root_dispersion = 1.0;
    ASSERT_TRUE(ref.add(s, kT0).has_value());
    ref.update(kT0);
    auto st = ref.state_at(kT0, -20);
    EXPECT_EQ(st.stratum, 2);
    EXPECT_EQ(st.refid, 0x7F000001u);  // 127.0.0.1
    EXPECT_EQ(st.correction_ns, 250'000'000);
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
        auto r = ref.add(s, kT0);
        EXPECT_FALSE(r.has_value());
        if (!r) {
            EXPECT_EQ(r.error().exit_code, EX_DATAERR);
        }
    }
    ref.update(kT0);
    EXPECT_EQ(ref.report().status, UpstreamStatus::waiting);
    EXPECT_FALSE(ref.at(kT0).synchronised);
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
    EXPECT_EQ(refid_for_source("roughtime://192.0.2.5:2002"), 0xC0000205u);
    EXPECT_EQ(refid_for_source("nts://192.0.2.6:4460"), 0xC0000206u);
    EXPECT_EQ(refid_for_source("roughtime://[2001:db8::1]:2002"), expected);
    EXPECT_FALSE(refid_for_source("gps:///dev/ttyS0"));
}

TEST(UpstreamReference, ReferenceIdOfReferenceClocks) {
    Sample s = sample(kT0, 0, 0.001, 0);
    s.source = "gps:///dev/ttyS0";
    s.refid = "GPS";
    EXPECT_EQ(reference_id(s), 0x47505300u);  // "GPS"
    s.source = "shm://0";
    s.refid = "127.127.28.0";  // not 1-4 printable characters: the scheme's name
    EXPECT_EQ(reference_id(s), 0x53484D00u);  // "SHM"
    s.source = "refclock://x";
    EXPECT_EQ(reference_id(s), 0x52454643u);  // "REFC": the first four letters
    s.stratum = 1;  // not a clock of our own: a hash of the source text
    auto h = reference_id(s);
    ASSERT_TRUE(h.has_value());
    EXPECT_NE(*h, 0x52454643u);
    s.source = "refclock://y";
    EXPECT_NE(reference_id(s), h);
    // stratum 0 from a reference clock is served at stratum 1
    UpstreamReference ref;
    Sample g = sample(kT0, 0, 0.0, 0);
    g.source = "pps:///dev/pps0";
    g.refid = "PPS";
    ASSERT_TRUE(ref.add(g, kT0).has_value());
    auto st = ref.state_at(kT0, -20);
    EXPECT_EQ(st.stratum, 1);
    EXPECT_EQ(st.refid, 0x50505300u);
}

namespace {

Tracking tracking(UnixNanos t, bool synchronised = true) {
    Tracking tr;
    tr.source = "ntp://192.0.2.1:123";
    tr.time = t;
    tr.stratum = 3;  // the disciplined clock serves at its system peer's stratum + 1
    tr.refid = "192.0.2.1";
    tr.root_delay = 0.014;
    tr.root_dispersion = 0.021;
    tr.offset = -0.0005;
    tr.frequency = -10.2;
    tr.skew = 0.05;
    tr.leap = synchronised ? 0 : 3;
    tr.synchronised = synchronised;
    tr.poll = 6;
    return tr;
}

}  // namespace

// `... | discipline | tee >(clockadj) | ntp-serve --upstream -`: the served clock is the
// disciplined local clock, described by the tracking record; samples no longer count.
TEST(UpstreamReference, ATrackingRecordIsServedAsTheDisciplinedClock) {
    UpstreamReference ref;
    ASSERT_TRUE(ref.add(sample(kT0, 0.25, 0.004), kT0).has_value());  // would correct by 250 ms
    ASSERT_TRUE(ref.add(UpstreamRecord{tracking(kT0 + kSec)}, kT0 + kSec).has_value());
    EXPECT_TRUE(ref.follows_tracking());
    ASSERT_TRUE(ref.add(sample(kT0 + 2 * kSec, 0.25, 0.004), kT0 + 2 * kSec).has_value());
    ref.update(kT0 + 11 * kSec);
    EXPECT_EQ(ref.report().status, UpstreamStatus::synchronised);
    EXPECT_EQ(ref.report().line, "synchronised to ntp://192.0.2.1:123 through the discipline (stratum 2)");
    auto st = ref.state_at(kT0 + 11 * kSec, -22);
    EXPECT_EQ(st.leap, ntp::Leap::None);
    EXPECT_EQ(st.stratum, 3);
    EXPECT_EQ(st.refid, 0xC0000201u);
    EXPECT_EQ(st.correction_ns, 0);  // clockadj corrects the clock, not the server
    EXPECT_NEAR(ntp::short_to_seconds(st.root_delay), 0.014, 2e-5);
    EXPECT_NEAR(ntp::short_to_seconds(st.root_dispersion), 0.021 + 0.0005 + 15e-6 * 10, 2e-5);
    EXPECT_EQ(st.reference, ntp::from_unix_nanos(kT0 + kSec));
}

TEST(UpstreamReference, ATrackingRecordThatSaysUnsynchronisedOrIsStaleIsUnsynchronised) {
    UpstreamReference ref;
    ASSERT_TRUE(ref.add(tracking(kT0, false), kT0).has_value());
    EXPECT_EQ(ref.state_at(kT0, -20), ntp::unsynchronised_state(-20));
    ref.update(kT0);
    EXPECT_EQ(ref.report().line, "unsynchronised: the discipline says so (stratum 3, leap 3)");
    ASSERT_TRUE(ref.add(tracking(kT0 + kSec), kT0 + kSec).has_value());
    ref.update(kT0 + kSec);
    EXPECT_EQ(ref.state_at(kT0 + 500 * kSec, -20).stratum, 3);   // 8 polls of 64 s: 512 s
    EXPECT_EQ(ref.state_at(kT0 + 514 * kSec, -20), ntp::unsynchronised_state(-20));
    ref.update(kT0 + 514 * kSec);
    EXPECT_EQ(ref.report().status, UpstreamStatus::stale);
}

TEST(UpstreamReference, ATrackingRecordOfAReferenceClockOrWithABadRefid) {
    UpstreamReference ref;
    Tracking tr = tracking(kT0);
    tr.source = "gps://ttyS0";
    tr.stratum = 1;
    tr.refid = "GPS";
    ASSERT_TRUE(ref.add(tr, kT0).has_value());
    EXPECT_EQ(ref.state_at(kT0, -20).refid, 0x47505300u);
    tr.refid = "not a refid";
    auto bad = ref.add(tr, kT0);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().what,
              "gps://ttyS0 (tracking): refid \"not a refid\" is neither an IPv4 address nor 1-4 ASCII characters, not used");
    EXPECT_EQ(ref.state_at(kT0, -20).refid, 0x47505300u);  // the good one still stands
    tr = tracking(kT0 + 10'000 * kSec);
    EXPECT_FALSE(ref.add(tr, kT0).has_value());  // dated far ahead of the local clock
}

TEST(UpstreamReference, ParseRefidText) {
    EXPECT_EQ(parse_refid_text("192.0.2.1"), 0xC0000201u);
    EXPECT_EQ(parse_refid_text("PPS"), 0x50505300u);
    EXPECT_EQ(parse_refid_text("GOES"), 0x474F4553u);
    EXPECT_FALSE(parse_refid_text(""));
    EXPECT_FALSE(parse_refid_text("2001:db8::1"));
    EXPECT_FALSE(parse_refid_text("TOOLONG"));
    EXPECT_FALSE(parse_refid_text("a b"));
}
