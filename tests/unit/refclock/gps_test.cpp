// libtime/refclock/gps: epochs, fix validation, lock counting, week-rollover correction, refusal
// of future times and jumps, the leap second 23:59:60, offsets and dispersion.
#include "libtime/refclock/gps.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

using namespace timepipe;
using namespace timepipe::refclock;

namespace {

constexpr UnixNanos kS = kNanosPerSecond;
// 2026-03-01T12:00:00Z
const UnixNanos kNoon = (days_from_civil(2026, 3, 1) * 86400 + 12 * 3600) * kS;

Sentence sentence(const std::string& body) {
    char sum[8];
    std::snprintf(sum, sizeof sum, "*%02X", nmea_checksum(body));
    auto s = parse_sentence("$" + body + sum);
    EXPECT_TRUE(s) << body << ": " << s.error().what;
    return s ? *s : Sentence{};
}

// One receiver second: GGA, RMC (and the date it names), as a receiver sends them.
struct Second {
    int y = 2026, mo = 3, d = 1, h = 12, mi = 0, s = 0;
    int quality = 1, sats = 8;
    char status = 'A';
};

std::vector<Sentence> epoch(const Second& e) {
    char tod[16], date[8], gga[128], rmc[128];
    std::snprintf(tod, sizeof tod, "%02d%02d%02d.00", e.h, e.mi, e.s);
    std::snprintf(date, sizeof date, "%02d%02d%02d", e.d, e.mo, e.y % 100);
    std::snprintf(gga, sizeof gga, "GPGGA,%s,4807.0380,N,01131.0000,E,%d,%02d,1.5,545.4,M,47.0,M,,", tod, e.quality, e.sats);
    std::snprintf(rmc, sizeof rmc, "GPRMC,%s,%c,4807.0380,N,01131.0000,E,0.0,0.0,%s,,,%c", tod, e.status, date,
                  e.status == 'A' ? 'A' : 'N');
    return {sentence(gga), sentence(rmc)};
}

Second at(UnixNanos utc) {
    auto secs = utc / kS;
    auto d = civil_from_days(secs / 86400);
    auto sod = secs % 86400;
    return Second{d.year, d.month, d.day, static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
                  static_cast<int>(sod % 60)};
}

struct Feed {
    std::vector<GpsEpoch> epochs;
    void feed(GpsReceiver& rx, const Second& e, UnixNanos local) {
        for (const auto& s : epoch(e))
            for (auto& x : rx.on_sentence(s, local)) epochs.push_back(std::move(x));
    }
    void finish(GpsReceiver& rx) {
        for (auto& x : rx.finish()) epochs.push_back(std::move(x));
    }
};

GpsConfig gps_config() {
    GpsConfig c;
    c.source = "gps://test";
    c.not_before = (days_from_civil(2020, 1, 1) * 86400) * kS;
    return c;
}

}  // namespace

TEST(GpsReceiver, LockThenSamplesWithOffset) {
    auto c = gps_config();
    c.lock = 3;
    c.offset = 0.1;
    GpsReceiver rx(c);
    Feed r;
    // local clock 250 ms behind: the first byte of second N arrives at N + 20 ms local - 250 ms
    for (int i = 0; i < 5; ++i) r.feed(rx, at(kNoon + i * kS), kNoon + i * kS + 20'000'000 - 250'000'000);
    r.finish(rx);
    ASSERT_EQ(r.epochs.size(), 5u);
    for (int i = 0; i < 5; ++i) {
        const auto& e = r.epochs[static_cast<std::size_t>(i)];
        EXPECT_TRUE(e.fix.valid) << i;
        EXPECT_EQ(e.fix.lock, i + 1);
        EXPECT_EQ(e.sample.has_value(), i >= 2) << i;
        EXPECT_EQ(e.fix.time, kNoon + i * kS - 230'000'000);
    }
    const Sample& s = *r.epochs[4].sample;
    EXPECT_EQ(s.source, "gps://test");
    EXPECT_EQ(s.time, kNoon + 4 * kS - 230'000'000);
    EXPECT_NEAR(s.offset, 0.230 - 0.1, 1e-9);  // time + offset + --offset = the second named
    EXPECT_EQ(s.stratum, 0);
    EXPECT_EQ(s.refid, "GPS");
    EXPECT_DOUBLE_EQ(s.dispersion, 0.015);
    EXPECT_EQ(*r.epochs[0].fix.utc, "2026-03-01T12:00:00.000Z");
    EXPECT_EQ(rx.counters().at("samples"), 3u);
}

TEST(GpsReceiver, InvalidFixesRefusedAndLockRestarts) {
    auto c = gps_config();
    c.lock = 2;
    GpsReceiver rx(c);
    Feed r;
    std::vector<Second> secs;
    for (int i = 0; i < 8; ++i) secs.push_back(at(kNoon + i * kS));
    secs[2].status = 'V';
    secs[4].quality = 0;
    secs[6].sats = 3;
    for (int i = 0; i < 8; ++i) r.feed(rx, secs[static_cast<std::size_t>(i)], kNoon + i * kS);
    r.finish(rx);
    ASSERT_EQ(r.epochs.size(), 8u);
    EXPECT_EQ(*r.epochs[2].fix.reason, "no fix: GPRMC status V");
    EXPECT_EQ(*r.epochs[4].fix.reason, "no fix: GPGGA quality 0");
    EXPECT_EQ(*r.epochs[6].fix.reason, "3 satellites, fewer than --min-sats 4");
    std::vector<int> locks;
    std::vector<bool> samples;
    for (const auto& e : r.epochs) {
        locks.push_back(*e.fix.lock);
        samples.push_back(e.sample.has_value());
    }
    EXPECT_EQ(locks, (std::vector<int>{1, 2, 0, 1, 0, 1, 0, 1}));
    EXPECT_EQ(samples, (std::vector<bool>{false, true, false, false, false, false, false, false}));
}

TEST(GpsReceiver, MinSatsZeroAndUnknownSatellites) {
    auto c = gps_config();
    c.lock = 1;
    GpsReceiver rx(c);
    // RMC alone: no satellite count
    auto rmc = epoch(at(kNoon))[1];
    EXPECT_TRUE(rx.on_sentence(rmc, kNoon).empty());
    auto e = rx.finish();
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(*e[0].fix.reason, "satellites not reported");
    c.min_satellites = 0;
    GpsReceiver rx0(c);
    rx0.on_sentence(rmc, kNoon);
    e = rx0.finish();
    EXPECT_TRUE(e[0].fix.valid);
    EXPECT_TRUE(e[0].sample);
}

TEST(GpsReceiver, ZdaAloneIsNoFix) {
    GpsReceiver rx(gps_config());
    rx.on_sentence(sentence("GPZDA,120000.00,01,03,2026,00,00"), kNoon);
    auto e = rx.finish();
    ASSERT_EQ(e.size(), 1u);
    EXPECT_FALSE(e[0].fix.valid);
    EXPECT_EQ(*e[0].fix.reason, "no fix status (no GGA, RMC or GNS)");
}

TEST(GpsReceiver, GgaAloneDatedFromLastDateAcrossMidnight) {
    auto c = gps_config();
    c.lock = 1;
    GpsReceiver rx(c);
    Feed r;
    UnixNanos t = (days_from_civil(2026, 3, 1) * 86400 + 86399) * kS;  // 23:59:59
    r.feed(rx, at(t), t);
    auto gga = epoch(at(t + kS))[0];  // 00:00:00 of 2026-03-02, GGA only
    for (auto& x : rx.on_sentence(gga, t + kS)) r.epochs.push_back(x);
    r.finish(rx);
    ASSERT_EQ(r.epochs.size(), 2u);
    EXPECT_EQ(*r.epochs[1].fix.utc, "2026-03-02T00:00:00.000Z");
    EXPECT_TRUE(r.epochs[1].fix.valid);
    EXPECT_EQ(*r.epochs[1].fix.lock, 2);
}

TEST(GpsReceiver, NoDateYet) {
    GpsReceiver rx(gps_config());
    rx.on_sentence(epoch(at(kNoon))[0], kNoon);
    auto e = rx.finish();
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(*e[0].fix.reason, "no date yet");
    EXPECT_FALSE(e[0].fix.utc);
}

TEST(GpsReceiver, WeekRolloverCorrected) {
    auto c = gps_config();
    c.lock = 1;
    GpsReceiver rx(c);
    // A receiver 1024 weeks behind names 2006-07-16 for 2026-03-01.
    UnixNanos named = kNoon - kRolloverSeconds * kS;
    Feed r;
    r.feed(rx, at(named), kNoon);
    r.finish(rx);
    ASSERT_EQ(r.epochs.size(), 1u);
    EXPECT_EQ(at(named).y, 2006);
    EXPECT_EQ(*r.epochs[0].fix.utc, "2026-03-01T12:00:00.000Z");
    EXPECT_EQ(r.epochs[0].fix.rollover_weeks, 1024);
    ASSERT_TRUE(r.epochs[0].sample);
    EXPECT_NEAR(r.epochs[0].sample->offset, 0, 1e-9);
    // two rollovers behind (1987 for 2026): corrected twice
    GpsReceiver rx2(c);
    Feed r2;
    Second old = at(kNoon - 2 * kRolloverSeconds * kS);
    ASSERT_EQ(old.y, 1986);
    r2.feed(rx2, old, kNoon);
    r2.finish(rx2);
    EXPECT_EQ(*r2.epochs[0].fix.utc, "2026-03-01T12:00:00.000Z");
    EXPECT_EQ(r2.epochs[0].fix.rollover_weeks, 2048);
}

TEST(GpsReceiver, FutureRefused) {
    auto c = gps_config();
    c.lock = 1;
    c.max_ahead = 86400;
    GpsReceiver rx(c);
    Feed r;
    r.feed(rx, at(kNoon + 86401 * kS), kNoon);  // a day and a second ahead of the local clock
    r.feed(rx, at(kNoon + 86402 * kS), kNoon + kS);
    r.finish(rx);
    ASSERT_EQ(r.epochs.size(), 2u);
    EXPECT_FALSE(r.epochs[0].fix.valid);
    EXPECT_EQ(*r.epochs[0].fix.reason, "+86401.000 s ahead of the local clock");
    EXPECT_FALSE(r.epochs[1].sample);
    EXPECT_EQ(rx.counters().at("future"), 2u);
    // within the bound: taken
    GpsReceiver ok(c);
    Feed r2;
    r2.feed(ok, at(kNoon + 3600 * kS), kNoon);
    r2.finish(ok);
    EXPECT_TRUE(r2.epochs[0].fix.valid);
}

TEST(GpsReceiver, JumpRefusedThenRelock) {
    auto c = gps_config();
    c.lock = 2;
    GpsReceiver rx(c);
    Feed r;
    for (int i = 0; i < 3; ++i) r.feed(rx, at(kNoon + i * kS), kNoon + i * kS);
    // the receiver jumps 5 s ahead and stays there
    for (int i = 3; i < 7; ++i) r.feed(rx, at(kNoon + (i + 5) * kS), kNoon + i * kS);
    r.finish(rx);
    ASSERT_EQ(r.epochs.size(), 7u);
    EXPECT_FALSE(r.epochs[3].fix.valid);
    EXPECT_EQ(*r.epochs[3].fix.reason, "jump of +5.000 s from the last valid second");
    EXPECT_TRUE(r.epochs[4].fix.valid);
    EXPECT_FALSE(r.epochs[4].sample);  // lock starts over
    ASSERT_TRUE(r.epochs[5].sample);
    EXPECT_NEAR(r.epochs[5].sample->offset, 5.0, 1e-9);
    EXPECT_EQ(rx.counters().at("jumps"), 1u);
}

TEST(GpsReceiver, LeapSecondKeepsLockWritesNoSample) {
    auto c = gps_config();
    c.lock = 1;
    UnixNanos t = (days_from_civil(2026, 12, 31) * 86400 + 86398) * kS;  // 23:59:58
    Second leap = at(t + kS);
    leap.s = 60;
    // The local clock inserts the second as Linux does (23:59:59 twice), or not at all (then it
    // is a second ahead from 00:00:00 on, and the samples say so).
    for (bool inserts : {true, false}) {
        GpsReceiver rx(c);
        Feed r;
        r.feed(rx, at(t), t);
        r.feed(rx, at(t + kS), t + kS);        // 23:59:59
        r.feed(rx, leap, inserts ? t + kS : t + 2 * kS);
        r.feed(rx, at(t + 2 * kS), t + (inserts ? 2 : 3) * kS);  // 00:00:00
        r.feed(rx, at(t + 3 * kS), t + (inserts ? 3 : 4) * kS);
        r.finish(rx);
        ASSERT_EQ(r.epochs.size(), 5u);
        EXPECT_EQ(*r.epochs[2].fix.utc, "2026-12-31T23:59:60.000Z");
        EXPECT_EQ(r.epochs[2].fix.leap_second, true);
        EXPECT_TRUE(r.epochs[2].fix.valid);
        EXPECT_FALSE(r.epochs[2].sample);
        for (std::size_t i : {3u, 4u}) {
            EXPECT_TRUE(r.epochs[i].fix.valid) << inserts << " " << r.epochs[i].fix.reason.value_or("");
            EXPECT_EQ(*r.epochs[i].fix.lock, static_cast<int>(i) + 1);
            ASSERT_TRUE(r.epochs[i].sample);
            EXPECT_NEAR(r.epochs[i].sample->offset, inserts ? 0.0 : -1.0, 1e-9);
        }
        EXPECT_EQ(*r.epochs[3].fix.utc, "2027-01-01T00:00:00.000Z");
    }
    GpsReceiver rx(c);
    Feed r;
    r.feed(rx, at(t), t);
    r.feed(rx, at(t + kS), t + kS);
    r.feed(rx, at(t + 3 * kS), t + 2 * kS);  // 00:00:01 right after 23:59:59, no leap second: a jump
    r.finish(rx);
    EXPECT_EQ(*r.epochs[2].fix.reason, "jump of +1.000 s from the last valid second");
    // second 60 anywhere but 23:59 is refused
    GpsReceiver rx2(c);
    Feed r2;
    Second bad = at(kNoon);
    bad.s = 60;
    r2.feed(rx2, bad, kNoon);
    r2.finish(rx2);
    EXPECT_EQ(*r2.epochs[0].fix.reason, "second 60 outside 23:59");
}

TEST(GpsReceiver, ReplayStampsOneSecondApart) {
    auto c = gps_config();
    c.replay = true;
    c.lock = 1;
    GpsReceiver rx(c);
    Feed r;
    for (int i = 0; i < 3; ++i) r.feed(rx, at(kNoon + i * kS), 42);  // the read time is ignored
    r.finish(rx);
    ASSERT_EQ(r.epochs.size(), 3u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(r.epochs[static_cast<std::size_t>(i)].fix.time, kNoon + i * kS);
        EXPECT_EQ(r.epochs[static_cast<std::size_t>(i)].sample->offset, 0);
    }
    EXPECT_EQ(rx.last_time(), kNoon + 2 * kS);
}

TEST(GpsDispersion, FromHdop) {
    EXPECT_DOUBLE_EQ(gps_dispersion(std::nullopt), 0.020);
    EXPECT_DOUBLE_EQ(gps_dispersion(0.5), 0.010);
    EXPECT_DOUBLE_EQ(gps_dispersion(2.0), 0.020);
    EXPECT_DOUBLE_EQ(gps_dispersion(500.0), 1.0);
}

TEST(GpsReceiver, ReplayStampStandsStillOverALeapSecond) {
    auto c = gps_config();
    c.replay = true;
    c.lock = 1;
    GpsReceiver rx(c);
    Feed r;
    UnixNanos t = (days_from_civil(2026, 12, 31) * 86400 + 86399) * kS;  // 23:59:59
    r.feed(rx, at(t), 0);
    Second leap = at(t);
    leap.s = 60;
    r.feed(rx, leap, 0);
    r.feed(rx, at(t + kS), 0);  // 00:00:00
    r.feed(rx, at(t + 2 * kS), 0);
    r.finish(rx);
    ASSERT_EQ(r.epochs.size(), 4u);
    std::vector<UnixNanos> stamps;
    for (const auto& e : r.epochs) stamps.push_back(e.fix.time);
    EXPECT_EQ(stamps, (std::vector<UnixNanos>{t, t + kS, t + kS, t + 2 * kS}));
    EXPECT_NEAR(r.epochs[2].sample->offset, 0, 1e-9);
    EXPECT_NEAR(r.epochs[3].sample->offset, 0, 1e-9);
}

TEST(GpsReceiver, DatesPast2200Refused) {
    // fuzz_nmea found it: year 2603 overflowed nanoseconds since 1970
    auto c = gps_config();
    c.lock = 1;
    GpsReceiver rx(c);
    rx.on_sentence(epoch(at(kNoon))[0], kNoon);
    rx.on_sentence(sentence("GPZDA,120000.00,01,03,2603,00,00"), kNoon);
    auto e = rx.finish();
    ASSERT_EQ(e.size(), 1u);
    EXPECT_FALSE(e[0].fix.valid);
    EXPECT_EQ(*e[0].fix.reason, "date 2603-03-01 out of range");
    EXPECT_FALSE(e[0].fix.utc);
}

TEST(GpsReceiver, EpochWrittenAfterTheLearnedLastSentence) {
    auto c = gps_config();
    c.lock = 1;
    GpsReceiver rx(c);
    auto zda = [](int s) {
        char body[64];
        std::snprintf(body, sizeof body, "GPZDA,1200%02d.00,01,03,2026,00,00", s);
        return sentence(body);
    };
    // Second 0 ends with ZDA, written when second 1 starts; from then on right after the ZDA.
    auto e0 = epoch(at(kNoon));
    EXPECT_TRUE(rx.on_sentence(e0[0], kNoon).empty());
    EXPECT_TRUE(rx.on_sentence(e0[1], kNoon).empty());
    EXPECT_TRUE(rx.on_sentence(zda(0), kNoon).empty());
    auto e1 = epoch(at(kNoon + kS));
    EXPECT_EQ(rx.on_sentence(e1[0], kNoon + kS).size(), 1u);  // second 0, now
    EXPECT_TRUE(rx.on_sentence(e1[1], kNoon + kS).empty());
    auto done = rx.on_sentence(zda(1), kNoon + kS);
    ASSERT_EQ(done.size(), 1u);  // second 1 as soon as its ZDA came
    EXPECT_EQ(*done[0].fix.utc, "2026-03-01T12:00:01.000Z");
    EXPECT_TRUE(done[0].sample);
    // Second 2's ZDA lost: written at second 3's start, after its RMC from then on; second 3's
    // ZDA comes after the epoch was written: counted, dropped, and the ZDA is the end again.
    auto e2 = epoch(at(kNoon + 2 * kS));
    rx.on_sentence(e2[0], kNoon + 2 * kS);
    EXPECT_TRUE(rx.on_sentence(e2[1], kNoon + 2 * kS).empty());
    auto e3 = epoch(at(kNoon + 3 * kS));
    EXPECT_EQ(rx.on_sentence(e3[0], kNoon + 3 * kS).size(), 1u);
    EXPECT_EQ(rx.on_sentence(e3[1], kNoon + 3 * kS).size(), 1u);  // RMC: the end learned from second 2
    EXPECT_TRUE(rx.on_sentence(zda(3), kNoon + 3 * kS).empty());
    EXPECT_EQ(rx.counters().at("late_sentences"), 1u);
    auto e4 = epoch(at(kNoon + 4 * kS));
    EXPECT_TRUE(rx.on_sentence(e4[0], kNoon + 4 * kS).empty());
    EXPECT_TRUE(rx.on_sentence(e4[1], kNoon + 4 * kS).empty());
    EXPECT_EQ(rx.on_sentence(zda(4), kNoon + 4 * kS).size(), 1u);
    EXPECT_TRUE(rx.finish().empty());
}
