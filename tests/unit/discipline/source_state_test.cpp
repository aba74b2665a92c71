// Discipline::source_states(): the chronyc-style mark of every source after the last selection
// ('*' system peer, '+' combined, '-' trimmed truechimer, 'x' falseticker, '~' too variable,
// '?' unusable with the reason), each a valid source_state record.
#include "libtime/discipline/discipline.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/unit/discipline/discipline_support.hpp"
#include "tests/unit/test_support.hpp"

namespace timepipe::discipline {
namespace {

using timepipe::test::kSec;
using timepipe::test::kT0;
using timepipe::test::ntp;

std::map<std::string, SourceState> states(const Discipline& d) {
    std::map<std::string, SourceState> m;
    for (const auto& s : d.source_states()) {
        auto back = from_record<SourceState>(to_record(s));   // what a reader decodes
        EXPECT_TRUE(back) << to_record(s).dump();
        if (back) {
            EXPECT_EQ(*back, s);
        }
        m[s.source.substr(6, s.source.find(':', 6) - 6)] = s;   // "ntp://HOST:123" -> HOST
    }
    return m;
}

TEST(DisciplineSourceStates, NoneBeforeAnySample) {
    Discipline d(DisciplineConfig{});
    EXPECT_TRUE(d.source_states().empty());
}

TEST(DisciplineSourceStates, PeerCombinedAndFalseticker) {
    Discipline d(DisciplineConfig{});
    // One round: with a fixed offset fed again, the loop's own corrections would widen the
    // filters' jitter (the clock is not really moved here).
    d.on_sample(ntp("192.0.2.1", kT0, 0.0001));
    d.on_sample(ntp("192.0.2.2", kT0 + kSec, 0.0002));
    d.on_sample(ntp("192.0.2.3", kT0 + 2 * kSec, 0.05));   // 50 ms off: outside every interval
    d.on_sample(ntp("192.0.2.4", kT0 + 3 * kSec, 0.0));
    auto m = states(d);
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(m["192.0.2.3"].state, "x");
    EXPECT_EQ(m["192.0.2.3"].reason, "falseticker: outside the intersection of the majority");
    int peers = 0, combined = 0;
    for (const char* h : {"192.0.2.1", "192.0.2.2", "192.0.2.4"}) {
        peers += m[h].state == "*";
        combined += m[h].state == "+";
        EXPECT_FALSE(m[h].reason) << h;
        ASSERT_TRUE(m[h].offset && m[h].delay && m[h].jitter) << h;
        EXPECT_NEAR(*m[h].delay, 0.0002, 1e-9);
        EXPECT_GE(*m[h].jitter, 0);
    }
    EXPECT_EQ(peers, 1);
    EXPECT_EQ(combined, 2);
}

// chrony's '~': a source whose offsets scatter by more than --max-jitter takes no part in
// selection; the others still select.
TEST(DisciplineSourceStates, TooVariableIsTildeAndNotSelected) {
    DisciplineConfig cfg;
    cfg.max_jitter = 0.010;
    Discipline d(cfg);
    for (int round = 0; round < 4; ++round) {
        const UnixNanos t = kT0 + round * 16 * kSec;
        d.on_sample(ntp("192.0.2.1", t, 0.0001));
        d.on_sample(ntp("192.0.2.2", t + kSec, 0.0002));
        d.on_sample(ntp("192.0.2.3", t + 2 * kSec, round % 2 ? 0.04 : -0.04));  // 80 ms of scatter
    }
    auto m = states(d);
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m["192.0.2.3"].state, "~");
    ASSERT_TRUE(m["192.0.2.3"].reason);
    EXPECT_NE(m["192.0.2.3"].reason->find("beyond --max-jitter 0.01 s"), std::string::npos) << *m["192.0.2.3"].reason;
    EXPECT_TRUE(m["192.0.2.1"].state == "*" || m["192.0.2.2"].state == "*");

    Discipline lenient(DisciplineConfig{});  // the default, 1 s: the same source is no '~'
    for (int round = 0; round < 4; ++round) {
        const UnixNanos t = kT0 + round * 16 * kSec;
        lenient.on_sample(ntp("192.0.2.1", t, 0.0001));
        lenient.on_sample(ntp("192.0.2.2", t + kSec, 0.0002));
        lenient.on_sample(ntp("192.0.2.3", t + 2 * kSec, round % 2 ? 0.04 : -0.04));
    }
    EXPECT_NE(states(lenient)["192.0.2.3"].state, "~");
}

TEST(DisciplineSourceStates, TheSystemPeerIsTheTrackingSource) {
    Discipline d(DisciplineConfig{});
    Output last;
    for (int round = 0; round < 3; ++round) {
        const UnixNanos t = kT0 + round * 64 * kSec;
        d.on_sample(ntp("192.0.2.1", t, 0.0001));
        last = d.on_sample(ntp("192.0.2.2", t + kSec, 0.0002));
    }
    std::string tracked;
    for (const auto& r : last.records)
        if (record_type(r) == Tracking::kType) tracked = from_record<Tracking>(r)->source;
    ASSERT_FALSE(tracked.empty());
    for (const auto& s : d.source_states()) EXPECT_EQ(s.state == "*", s.source == tracked) << s.source;
}

TEST(DisciplineSourceStates, UnusableSamplesSayWhy) {
    Discipline d(DisciplineConfig{});
    Sample kod = ntp("192.0.2.1", kT0, 0);
    kod.kod = "RATE";
    d.on_sample(kod);
    Sample unsync = ntp("192.0.2.2", kT0 + kSec, 0);
    unsync.leap = 3;
    d.on_sample(unsync);
    auto m = states(d);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m["192.0.2.1"].state, "?");
    EXPECT_EQ(m["192.0.2.1"].reason, "kiss-o'-death RATE");
    EXPECT_EQ(m["192.0.2.2"].state, "?");
    EXPECT_EQ(m["192.0.2.2"].reason, "unsynchronised (leap 3)");
}

TEST(DisciplineSourceStates, TooFewSourcesAreUnusable) {
    DisciplineConfig cfg;
    cfg.min_sources = 2;
    Discipline d(cfg);
    d.on_sample(ntp("192.0.2.1", kT0, 0.01));
    auto m = states(d);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m["192.0.2.1"].state, "?");
    EXPECT_EQ(m["192.0.2.1"].reason, "1 usable source, fewer than --min-sources 2");
    d.on_sample(ntp("192.0.2.2", kT0 + kSec, 0.01));
    m = states(d);
    EXPECT_NE(m["192.0.2.1"].state, "?");
    EXPECT_NE(m["192.0.2.2"].state, "?");
}

TEST(DisciplineSourceStates, NoMajorityMarksEveryoneAFalseticker) {
    Discipline d(DisciplineConfig{});
    d.on_sample(ntp("192.0.2.1", kT0, 0.0));
    d.on_sample(ntp("192.0.2.2", kT0 + kSec, 0.5));   // two disjoint intervals: nobody agrees
    auto m = states(d);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_EQ(m["192.0.2.1"].state, "x");
    EXPECT_EQ(m["192.0.2.2"].state, "x");
    EXPECT_EQ(m["192.0.2.2"].reason, "no majority of sources agrees on the time");
}

TEST(DisciplineSourceStates, AStaleSourceIsUnusable) {
    Discipline d(DisciplineConfig{});
    d.on_sample(ntp("192.0.2.1", kT0, 0.0));
    d.on_sample(ntp("192.0.2.2", kT0 + 1000 * kSec, 0.0));   // 1's sample is 8 polls (512 s) old
    auto m = states(d);
    EXPECT_EQ(m["192.0.2.1"].state, "?");
    EXPECT_EQ(m["192.0.2.1"].reason, "stale: no sample for 1000 s");
    EXPECT_EQ(m["192.0.2.2"].state, "*");
}

TEST(DisciplineSourceStates, TooFarFromAReferenceClockIsUnusable) {
    Discipline d(DisciplineConfig{});
    d.on_sample(ntp("192.0.2.1", kT0, 0.0));
    d.on_sample(ntp("192.0.2.2", kT0 + kSec, 0.0, 0.0002, 5.0));   // root dispersion 5 s: beyond 3 s
    auto m = states(d);
    EXPECT_EQ(m["192.0.2.1"].state, "*");
    EXPECT_EQ(m["192.0.2.2"].state, "?");
    ASSERT_TRUE(m["192.0.2.2"].reason);
    EXPECT_EQ(m["192.0.2.2"].reason->rfind("root distance ", 0), 0u) << *m["192.0.2.2"].reason;
}

TEST(DisciplineSourceStates, ClusterTrimmedTruechimersAreMinus) {
    // Six agreeing sources, two with wide jitter-free but distant offsets within every interval:
    // the cluster algorithm keeps at least 3 and trims outliers down from 6.
    Discipline d(DisciplineConfig{});
    const double offsets[] = {0.0, 0.00001, -0.00001, 0.00002, 0.0015, -0.0015};
    for (int round = 0; round < 4; ++round)
        for (int i = 0; i < 6; ++i)
            d.on_sample(ntp("192.0.2." + std::to_string(i + 1), kT0 + (round * 64 + i) * kSec, offsets[i],
                            /*delay=*/0.0002, /*root_dispersion=*/0.004));
    auto m = states(d);
    ASSERT_EQ(m.size(), 6u);
    EXPECT_EQ(m["192.0.2.5"].state, "-");
    EXPECT_EQ(m["192.0.2.6"].state, "-");
}

TEST(DisciplineSourceStates, RoughtimeServersAreNotSources) {
    Discipline d(DisciplineConfig{});
    Sample r;
    r.source = "roughtime://192.0.2.9:2002";
    r.time = kT0;
    r.delay = 0.01;
    r.root_dispersion = 1;
    r.stratum = 1;
    r.verified = true;
    d.on_sample(r);
    EXPECT_TRUE(d.source_states().empty());
}

}  // namespace
}  // namespace timepipe::discipline
