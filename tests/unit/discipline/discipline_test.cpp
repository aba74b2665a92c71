// The engine: one adjust per sample, selection with a falseticker, holdover, Roughtime bounds,
// leap majority, panic, determinism; the driftfile's line.
#include "libtime/discipline/discipline.hpp"

#include <gtest/gtest.h>

#include <string>

#include "libtime/discipline/driftfile.hpp"
#include "tests/unit/discipline/discipline_support.hpp"
#include "tests/unit/discipline/sim.hpp"
#include "tests/unit/test_support.hpp"

namespace timepipe::discipline {
namespace {

using timepipe::test::kSec;
using timepipe::test::kT0;
using timepipe::test::ntp;

Sample roughtime(UnixNanos t, double offset, double radius) {
    Sample s;
    s.source = "roughtime://192.0.2.9:2002";
    s.time = t;
    s.offset = offset;
    s.delay = 0.01;
    s.dispersion = 0;
    s.root_dispersion = radius;
    s.stratum = 1;
    s.verified = true;
    return s;
}

std::vector<std::string> types(const Output& out) {
    std::vector<std::string> t;
    for (const auto& r : out.records) t.emplace_back(record_type(r));
    return t;
}

// Every record the engine wrote reads back with from_record (what a reader downstream does).
void expect_read_back(const std::vector<Record>& records) {
    for (const auto& r : records) {
        auto type = record_type(r);
        bool ok = type == Adjust::kType     ? bool(from_record<Adjust>(r))
                  : type == Tracking::kType ? bool(from_record<Tracking>(r))
                                            : bool(from_record<Refusal>(r));
        EXPECT_TRUE(ok) << r.dump();
    }
}

Adjust last_adjust(const Output& out) {
    EXPECT_FALSE(out.records.empty());
    EXPECT_EQ(record_type(out.records.back()), Adjust::kType);
    return *from_record<Adjust>(out.records.back());
}

TEST(Discipline, EverySampleEndsInExactlyOneAdjust) {
    Discipline d({});
    auto out = d.on_sample(ntp("192.0.2.1", kT0, 0.01));
    EXPECT_EQ(types(out), (std::vector<std::string>{"tracking", "adjust"}));
    auto a = last_adjust(out);
    EXPECT_EQ(a.time, kT0);
    EXPECT_EQ(a.source, "ntp://192.0.2.1:123");
    ASSERT_TRUE(a.slew);
    EXPECT_DOUBLE_EQ(*a.slew, 0.01);
    EXPECT_TRUE(a.frequency);
    EXPECT_EQ(a.poll, 6);

    // Unusable samples (KoD, unsynchronised) still get their adjust, an empty one.
    Sample kod = ntp("192.0.2.1", kT0 + 64 * kSec, 0);
    kod.kod = "RATE";
    auto a2 = last_adjust(d.on_sample(kod));
    EXPECT_FALSE(a2.frequency || a2.slew || a2.step);
    EXPECT_EQ(a2.time, kT0 + 64 * kSec);
    Sample unsync = ntp("192.0.2.1", kT0 + 65 * kSec, 0);
    unsync.leap = 3;
    EXPECT_EQ(types(d.on_sample(unsync)), std::vector<std::string>{"adjust"});

    // Other records: no adjust.
    Record stats = {{"v", 1}, {"type", "stats"}, {"source", "x"}, {"time", kT0 + 70 * kSec}};
    EXPECT_TRUE(d.on_record(stats)->records.empty());
    Record unknown = {{"v", 1}, {"type", "gps_fix"}};
    EXPECT_TRUE(d.on_record(unknown)->records.empty());
}

TEST(Discipline, BadSampleKeysFail) {
    Discipline d({});
    Record bad = to_record(ntp("192.0.2.1", kT0, 0));
    bad["offset"] = "soon";
    auto out = d.on_record(bad);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().what, "sample: \"offset\": not a number");
}

TEST(Discipline, TrackingSaysWhatAServerShouldSend) {
    Discipline d({});
    auto out = d.on_sample(ntp("192.0.2.1", kT0, 0.001));
    auto tr = from_record<Tracking>(out.records.front());
    ASSERT_TRUE(tr);
    EXPECT_EQ(tr->stratum, 3);
    EXPECT_EQ(tr->refid, "192.0.2.1");
    EXPECT_TRUE(tr->synchronised);
    EXPECT_EQ(tr->leap, 0);
    EXPECT_NEAR(tr->root_delay, 0.0012, 1e-12);
    EXPECT_GE(tr->root_dispersion, 0.001);
    EXPECT_EQ(tr->sources, 1);
}

TEST(Discipline, FalsetickerIsNeverFollowed) {
    // Four servers, one 50 ms off, closed loop: the clock stays with the three.
    sim::Scenario sc;
    sc.duration = 5000;
    sc.servers = 4;
    sc.server_offsets = {0, 0, 0.05, 0};
    DisciplineConfig cfg;
    cfg.loop.max_poll = 6;
    auto f = sim::run(sc, cfg);
    for (const auto& r : f.records) {
        if (record_type(r) == Adjust::kType) {
            EXPECT_NE(from_record<Adjust>(r)->source, "ntp://192.0.2.3:123");
        }
        if (record_type(r) == Tracking::kType) {
            EXPECT_NE(from_record<Tracking>(r)->source, "ntp://192.0.2.3:123");
        }
    }
    EXPECT_LE(f.late_max, 1e-3);
}

TEST(Discipline, MinSourcesRefusesUntilEnoughAgree) {
    DisciplineConfig cfg;
    cfg.min_sources = 2;
    Discipline d(cfg);
    auto out = d.on_sample(ntp("192.0.2.1", kT0, 0.01));
    EXPECT_EQ(types(out), (std::vector<std::string>{"refusal", "adjust"}));
    EXPECT_EQ(from_record<Refusal>(out.records[0])->reason, "1 usable source, fewer than --min-sources 2");
    EXPECT_FALSE(last_adjust(out).slew);
    out = d.on_sample(ntp("192.0.2.2", kT0 + kSec, 0.01));
    EXPECT_TRUE(last_adjust(out).slew);
}

TEST(Discipline, HoldoverThenUnsynchronised) {
    DisciplineConfig cfg;
    cfg.holdover = 600;
    Discipline d(cfg);
    d.on_sample(ntp("192.0.2.1", kT0, 0.0));
    d.on_sample(ntp("192.0.2.1", kT0 + 64 * kSec, 64e-6));  // 1 ppm
    double f = d.frequency();
    // Only unusable samples for a while: the frequency holds, then tracking says unsynchronised.
    Sample kod = ntp("192.0.2.1", kT0 + 300 * kSec, 0);
    kod.kod = "RATE";
    EXPECT_EQ(types(d.on_sample(kod)), std::vector<std::string>{"adjust"});
    kod.time = kT0 + 700 * kSec;
    auto out = d.on_sample(kod);
    ASSERT_EQ(types(out), (std::vector<std::string>{"tracking", "adjust"}));
    auto tr = from_record<Tracking>(out.records[0]);
    EXPECT_FALSE(tr->synchronised);
    EXPECT_EQ(tr->stratum, 16);
    EXPECT_EQ(tr->leap, 3);
    EXPECT_DOUBLE_EQ(tr->frequency, f);
    EXPECT_FALSE(last_adjust(out).frequency);
    EXPECT_EQ(last_adjust(out).source, "local");
}

TEST(Discipline, OutageIsBoundedByTheHeldFrequency) {
    sim::Scenario sc;
    sc.duration = 12000;
    sc.outage_from = 4000;
    sc.outage_to = 7600;  // one hour without a source
    DisciplineConfig cfg;
    cfg.loop.max_poll = 6;
    auto f = sim::run(sc, cfg);
    EXPECT_EQ(f.steps, 0);
    EXPECT_LE(f.offsets[7599], 1e-3);  // 10 ppm held to a fraction of a ppm over an hour
    EXPECT_LE(f.late_max, 1e-3);
}

TEST(Discipline, RoughtimeBoundRefusesACollusion) {
    // Three of five servers 10 s ahead: NTP's majority, outside the verified Roughtime interval.
    Discipline d({});
    auto rt = d.on_sample(roughtime(kT0, 0.0, 0.1));
    EXPECT_EQ(types(rt), std::vector<std::string>{"adjust"});
    Output out;
    for (int i = 1; i <= 5; ++i)
        d.on_sample(ntp("192.0.2." + std::to_string(i), kT0 + i * kSec, i <= 3 ? 10.0 : 0.0));
    out = d.on_sample(ntp("192.0.2.1", kT0 + 10 * kSec, 10.0));  // a colluder's next sample
    ASSERT_EQ(types(out), (std::vector<std::string>{"refusal", "adjust"}));
    auto r = from_record<Refusal>(out.records[0]);
    EXPECT_NE(r->reason.find("above roughtime://192.0.2.9:2002's bound"), std::string::npos) << r->reason;
    EXPECT_NEAR(*r->offset, 10.0, 1e-6);
    EXPECT_LT(*r->upper_bound, 0.2);
    EXPECT_GT(*r->lower_bound, -0.2);
    auto a = last_adjust(out);
    EXPECT_FALSE(a.step || a.slew || a.frequency);
    EXPECT_EQ(d.updates(), 0u);

    // A proven conflict of that server: no longer a bound; the majority is followed.
    RoughtimeConflict c;
    c.source = "roughtime://192.0.2.9:2002";
    c.later_source = "roughtime://192.0.2.10:2002";
    c.time = kT0 + 6 * kSec;
    EXPECT_TRUE(d.on_conflict(c).records.empty());
    out = d.on_sample(ntp("192.0.2.1", kT0 + 70 * kSec, 10.0));
    EXPECT_TRUE(last_adjust(out).step);
}

TEST(Discipline, MinBoundsRefusesEverythingUntilABoundIsHeld) {
    DisciplineConfig cfg;
    cfg.min_bounds = 1;
    Discipline d(cfg);
    auto out = d.on_sample(ntp("192.0.2.1", kT0, 0.5));  // would be stepped: first update, > 0.128 s
    ASSERT_EQ(types(out), (std::vector<std::string>{"refusal", "adjust"}));
    EXPECT_EQ(from_record<Refusal>(out.records[0])->reason, "0 verified Roughtime bounds, fewer than --min-bounds 1");
    auto a = last_adjust(out);
    EXPECT_FALSE(a.step || a.slew || a.frequency);
    EXPECT_EQ(d.updates(), 0u);
    d.on_sample(roughtime(kT0 + kSec, 0.5, 0.1));
    a = last_adjust(d.on_sample(ntp("192.0.2.1", kT0 + 2 * kSec, 0.5)));
    ASSERT_TRUE(a.step);  // within the bound: corrected, as without the option
    EXPECT_NEAR(*a.step, 0.5, 1e-3);
}

TEST(Discipline, DisagreeingBoundsRefuseEverythingWithAValidRecord) {
    Discipline d({});
    d.on_sample(roughtime(kT0, 0.0, 0.01));
    Sample other = roughtime(kT0, 5.0, 0.01);
    other.source = "roughtime://192.0.2.10:2002";
    d.on_sample(other);
    auto out = d.on_sample(ntp("192.0.2.1", kT0 + kSec, 0.0));
    ASSERT_EQ(types(out), (std::vector<std::string>{"refusal", "adjust"}));
    auto r = from_record<Refusal>(out.records[0]);
    ASSERT_TRUE(r) << r.error().what;
    EXPECT_NE(r->reason.find("disagree"), std::string::npos);
    EXPECT_FALSE(r->lower_bound);
}

TEST(Discipline, EveryRecordWrittenReadsBack) {
    sim::Scenario sc;
    sc.duration = 4000;
    sc.servers = 3;
    expect_read_back(sim::run(sc, {}).records);
}

TEST(Discipline, RoughtimeBoundWidensWithAge) {
    DisciplineConfig cfg;
    cfg.max_drift = 100e-6;
    Discipline d(cfg);
    d.on_sample(roughtime(kT0, 0.0, 0.01));
    // 0.02 s is outside ±(0.01 + 0.005) at once, inside after 100 s (+ 0.01).
    auto out = d.on_sample(ntp("192.0.2.1", kT0 + kSec, 0.02));
    EXPECT_EQ(record_type(out.records[0]), Refusal::kType);
    out = d.on_sample(ntp("192.0.2.1", kT0 + 100 * kSec, 0.02));
    EXPECT_EQ(record_type(out.records[0]), Tracking::kType);
}

TEST(Discipline, PanicWritesARefusalThenStops) {
    DisciplineConfig cfg;
    cfg.loop.panic = 100;
    Discipline d(cfg);
    auto out = d.on_sample(ntp("192.0.2.1", kT0, -3600));
    EXPECT_TRUE(out.fatal);
    EXPECT_EQ(types(out), (std::vector<std::string>{"refusal", "adjust"}));
    EXPECT_EQ(out.fatal_line, "panic: the clock is 3600 s off (ntp://192.0.2.1:123), beyond --panic 100 s; not corrected");
}

TEST(Discipline, LeapFromAMajorityOnlyOnTheLastDayOfTheMonth) {
    Discipline d({});
    const UnixNanos june30 = 1435708800LL * kSec - 3600 * kSec;  // 2015-06-30 23:00
    for (int i = 1; i <= 3; ++i) {
        Sample s = ntp("192.0.2." + std::to_string(i), june30 + i * kSec, 0.0);
        s.leap = i <= 2 ? 1 : 0;
        auto out = d.on_sample(s);
        if (i == 3) {
            EXPECT_EQ(last_adjust(out).leap, 1);
        }
    }
    Discipline e({});
    Sample s = ntp("192.0.2.1", june30 - 86400 * kSec, 0.0);
    s.leap = 1;
    EXPECT_FALSE(last_adjust(e.on_sample(s)).leap);  // June 29: not yet
}

TEST(Discipline, SameInputSameOutput) {
    sim::Scenario sc;
    sc.duration = 3000;
    sc.servers = 3;
    auto a = sim::run(sc, {});
    auto b = sim::run(sc, {});
    ASSERT_EQ(a.records.size(), b.records.size());
    for (std::size_t i = 0; i < a.records.size(); ++i) EXPECT_EQ(a.records[i].dump(), b.records[i].dump());
}

TEST(Driftfile, RoundTrip) {
    Drift d{-12.345678, 0.0125};
    auto line = format_driftfile(d);
    EXPECT_EQ(line, "-12.345678 0.012500\n");
    auto back = parse_driftfile(line);
    ASSERT_TRUE(back);
    EXPECT_DOUBLE_EQ(back->frequency, -12.345678);
    EXPECT_DOUBLE_EQ(back->skew, 0.0125);
    EXPECT_FALSE(parse_driftfile("600 0\n"));
    EXPECT_FALSE(parse_driftfile("1.0\n"));
    EXPECT_FALSE(parse_driftfile("1.0 -1\n"));
    EXPECT_FALSE(parse_driftfile("1.0 1 2\n"));
    EXPECT_FALSE(parse_driftfile("nan 1\n"));
    EXPECT_FALSE(parse_driftfile("1 4.75600660e062\n"));  // fuzz_leapfile: would not round-trip
}

TEST(Driftfile, AtMostOnceAnHour) {
    EXPECT_TRUE(drift_due(std::nullopt, kT0));
    EXPECT_FALSE(drift_due(kT0, kT0 + 3599 * kSec));
    EXPECT_TRUE(drift_due(kT0, kT0 + 3600 * kSec));
}

TEST(Discipline, StartsAtTheDriftfileFrequency) {
    DisciplineConfig cfg;
    cfg.frequency = -42.5;
    Discipline d(cfg);
    auto a = last_adjust(d.on_sample(ntp("192.0.2.1", kT0, 0.0)));
    EXPECT_DOUBLE_EQ(*a.frequency, -42.5);
}

}  // namespace
}  // namespace timepipe::discipline

namespace timepipe::discipline {
namespace {

TEST(Discipline, ManySourceNamesStayBounded) {
    Discipline d({});
    for (int i = 0; i < 1000; ++i) {
        auto out = d.on_sample(ntp("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250),
                                   kT0 + i * kSec, 0.0));
        ASSERT_EQ(record_type(out.records.back()), Adjust::kType);
    }
    EXPECT_LE(d.source_count(), 64u);
}

// Found by fuzz_discipline: finite but enormous delays and dispersions summed past the largest
// double, and the tracking record (or a Roughtime bound's refusal) carried an infinity that no
// reader accepts. Such samples are not usable: every record written still reads back.
TEST(Discipline, EnormousDelaysAndDispersionsAreNotUsable) {
    auto reads_back = [](const Output& out) { expect_read_back(out.records); };
    for (int field = 0; field < 4; ++field) {
        Discipline d(DisciplineConfig{});
        for (int i = 0; i < 12; ++i) {
            Sample s = ntp("192.0.2.1", kT0 + i * 16 * kSec, 0.001, 1e308);
            s.dispersion = field == 1 ? 1e308 : 1e-6;
            s.root_delay = field == 2 ? 1e308 : 0.001;
            s.root_dispersion = field == 3 ? 1.7e308 : 0.001;
            if (field != 0) s.delay = 0.0002;
            if (field == 2) s.delay = 1e308;
            reads_back(d.on_sample(s));
        }
    }
    {  // the fuzzer's case: a second sample of a selected source with a delay of 3.9e233 s
        DisciplineConfig cfg;
        cfg.min_sources = 3;
        Discipline d(cfg);
        reads_back(d.on_sample(ntp("192.0.2.1", kT0 + 1, 0.0)));
        reads_back(d.on_sample(ntp("192.0.2.2", kT0 + 2, 0.0)));
        reads_back(d.on_sample(ntp("192.0.2.3", kT0 + 3, 10.0)));
        reads_back(d.on_sample(ntp("192.0.2.1", kT0 + 64 * kSec + 1, 0.001)));
        reads_back(d.on_sample(ntp("192.0.2.2", kT0 + 64 * kSec + 2, 0.001, 3.9028487727174215e+233)));
    }
    for (double offset : {1e200, -1e300, 1.7e308}) {
        Discipline d(DisciplineConfig{});
        for (int i = 0; i < 12; ++i)
            reads_back(d.on_sample(ntp("192.0.2.1", kT0 + i * 16 * kSec, i % 2 ? offset : -offset)));
    }
    Discipline d(DisciplineConfig{});
    for (int i = 0; i < 4; ++i) {
        Sample r = roughtime(kT0 + i * kSec, 0.001, 1.7e308);
        r.dispersion = 1.7e308;
        reads_back(d.on_sample(r));
        reads_back(d.on_sample(ntp("192.0.2.1", kT0 + i * kSec + 1, 0.001)));
    }
}

}  // namespace
}  // namespace timepipe::discipline
