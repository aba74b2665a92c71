// The control loop alone, and the whole discipline closed around the small simulator (sim.hpp):
// chrony's own simulation bar, step rules, panic.
#include "libtime/discipline/loop.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tests/unit/discipline/sim.hpp"
#include "tests/unit/test_support.hpp"

namespace timepipe::discipline {
namespace {

using timepipe::test::kSec;
using timepipe::test::kT0;

TEST(FitLine, ExactLineAndRuns) {
    std::vector<WeightedPoint> p;
    for (int i = 0; i < 10; ++i) p.push_back({i * 64.0, 0.001 + 2e-6 * i * 64.0, 1.0});
    auto f = fit_line(p.data(), p.size());
    EXPECT_NEAR(f.slope, 2e-6, 1e-15);
    EXPECT_NEAR(f.at_last, 0.001 + 2e-6 * 9 * 64, 1e-12);
    EXPECT_NEAR(f.rms, 0.0, 1e-12);
}

TEST(FitLine, WeightsFavourGoodPoints) {
    // Two points far off with tiny weight barely move the line.
    std::vector<WeightedPoint> p{{0, 0, 1}, {1, 0, 1}, {2, 10, 1e-9}, {3, 0, 1}};
    auto f = fit_line(p.data(), p.size());
    EXPECT_NEAR(f.at_last, 0.0, 1e-6);
}

TEST(Loop, FirstUpdateSlewsTheWholeOffsetFast) {
    Loop loop;
    auto r = loop.update(kT0, 0.05, 0);
    EXPECT_FALSE(r.step);
    EXPECT_DOUBLE_EQ(r.slew, 0.05);
    EXPECT_LE(r.slew_duration, 0.05 / LoopConfig{}.max_slew_rate + 1e-9);
    EXPECT_EQ(r.poll, 6);
}

TEST(Loop, StepsOnlyInTheFirstUpdatesUnlessAlways) {
    LoopConfig cfg;
    cfg.step_limit = 2;
    Loop loop(cfg);
    EXPECT_TRUE(loop.update(kT0, 0.5, 0).step);       // update 1
    EXPECT_FALSE(loop.update(kT0 + 64 * kSec, 0.001, 0).step);  // update 2: small
    auto third = loop.update(kT0 + 128 * kSec, 0.5, 0);        // update 3: beyond the limit
    EXPECT_FALSE(third.step);
    EXPECT_NE(third.slew, 0.0);

    cfg.step_always = true;
    Loop always(cfg);
    for (int i = 0; i < 5; ++i) always.update(kT0 + i * 64 * kSec, 0.0, 0);
    auto r = always.update(kT0 + 5 * 64 * kSec, -0.3, 0);
    ASSERT_TRUE(r.step);  // the regression's line at now: part of the jump, beyond the threshold
    EXPECT_LT(*r.step, -0.128);

    cfg.step_always = false;
    cfg.step_threshold = 0;  // never
    Loop never(cfg);
    EXPECT_FALSE(never.update(kT0, 5.0, 0).step);
}

TEST(Loop, PanicRefusesAndChangesNothing) {
    LoopConfig cfg;
    cfg.panic = 10;
    Loop loop(cfg, 12.5);
    auto r = loop.update(kT0, 20.0, 0);
    EXPECT_TRUE(r.panic);
    EXPECT_DOUBLE_EQ(r.offset, 20.0);
    EXPECT_FALSE(r.step);
    EXPECT_EQ(loop.updates(), 0u);
    EXPECT_DOUBLE_EQ(loop.frequency(), 12.5);
}

TEST(Loop, FrequencyFromTheSlopeOfTwoPoints) {
    Loop loop;
    loop.update(kT0, 0.0, 0);
    // 64 s later the clock (uncorrected) fell behind by 640 µs: it runs 10 ppm slow.
    auto r = loop.update(kT0 + 64 * kSec, 640e-6, 0);
    EXPECT_NEAR(r.frequency, 10.0, 1e-6);
}

// A client held at poll 6 (ntp-query --maxpoll 6, the anchors' S1) while the loop would like
// longer polls: the regression keeps the points of the interval the samples really come at.
// Sized by the poll it wished for instead, the window shrank to a quarter and the late RMS of S1
// under clocksim was 36 µs instead of 15 µs.
// Several sources answer within a fraction of a second at start: 1 ms between two of them
// 0.1 s apart is no frequency (it would read 10 000 ppm, clamped to 500); points 2 s apart are.
TEST(Loop, PointsUnderASecondApartLeaveTheFrequency) {
    Loop loop({}, 3.0);
    loop.update(kT0, 0.0, 0);
    auto r = loop.update(kT0 + kSec / 10, 0.001, 0);
    EXPECT_DOUBLE_EQ(r.frequency, 3.0);
    r = loop.update(kT0 + 2 * kSec / 10, 0.0, 0);
    EXPECT_DOUBLE_EQ(r.frequency, 3.0);
    Loop iburst({}, 3.0);
    iburst.update(kT0, 0.0, 0);
    r = iburst.update(kT0 + 2 * kSec, 200e-6, 0);  // 100 ppm over an iburst's 2 s
    EXPECT_NEAR(r.frequency, 3.0 + 100.0, 1e-6);
}

// The phase correction is the slews and steps alone: a frequency the loop set moves
// correction_at but not phase_correction_at.
TEST(Loop, PhaseCorrectionLeavesOutTheFrequency) {
    Loop loop;
    loop.update(kT0, 0.0, 0);
    loop.update(kT0 + 64 * kSec, 640e-6, 0);  // 10 ppm, and a slew of what is left
    const double c1 = loop.correction_at(kT0 + 1000 * kSec), p1 = loop.phase_correction_at(kT0 + 1000 * kSec);
    const double c2 = loop.correction_at(kT0 + 2000 * kSec), p2 = loop.phase_correction_at(kT0 + 2000 * kSec);
    EXPECT_NEAR(c2 - c1, (loop.frequency() * 1e-6) * 1000, 1e-9);  // the slew is over by then
    EXPECT_DOUBLE_EQ(p2, p1);
    EXPECT_NEAR(c1 - p1, loop.frequency() * 1e-6 * (1000 - 64), 1e-9);
}

TEST(Loop, WindowFollowsThePollTheSourceReallyUses) {
    Loop held, wishful;
    LoopResult rh, rw;
    for (int i = 0; i < 60; ++i) {
        double noise = i % 2 ? 20e-6 : -20e-6;
        rh = held.update(kT0 + i * 64 * kSec, noise, 10e-6, 6);
        rw = wishful.update(kT0 + i * 64 * kSec, noise, 10e-6);
    }
    EXPECT_GT(rh.poll, 6);  // it still asks for longer polls
    EXPECT_EQ(rh.points, LoopConfig{}.max_points);
    EXPECT_LT(rw.points, LoopConfig{}.max_points / 2);
}

// chrony's default simulation bar (test/simulation: 0.1 s, 100 ppm, σ 1e-9, 100 µs + Exp(100 µs)
// each way, one server, poll 6): |offset| below 1 ms for good within 210 s, then max ≤ 1 ms,
// RMS ≤ 300 µs, RMS frequency error ≤ 10 ppm.
TEST(LoopSim, ChronyDefaultBar) {
    std::mt19937_64 seeds(test::test_seed("LoopSim.ChronyDefaultBar"));
    for (int run = 0; run < 3; ++run) {
        sim::Scenario sc;
        sc.seed = seeds();
        sc.duration = 10000;
        sc.offset = 0.1;
        sc.freq = 100e-6;
        DisciplineConfig cfg;
        cfg.loop.max_poll = 6;
        auto f = sim::run(sc, cfg);
        ASSERT_TRUE(f.settled_1ms);
        EXPECT_LE(*f.settled_1ms, 210);
        double max_after = 0, ss = 0;
        for (std::size_t k = static_cast<std::size_t>(*f.settled_1ms); k < f.offsets.size(); ++k) {
            max_after = std::max(max_after, f.offsets[k]);
            ss += f.offsets[k] * f.offsets[k];
        }
        EXPECT_LE(max_after, 1e-3);
        EXPECT_LE(std::sqrt(ss / static_cast<double>(f.offsets.size() - static_cast<std::size_t>(*f.settled_1ms))), 300e-6);
        EXPECT_LE(f.freq_rms_ppm, 10.0);
    }
}

TEST(LoopSim, ChronyLargeWanderBar) {
    std::mt19937_64 seeds(test::test_seed("LoopSim.ChronyLargeWanderBar"));
    for (int run = 0; run < 3; ++run) {
        sim::Scenario sc;
        sc.seed = seeds();
        sc.duration = 10000;
        sc.offset = 0.1;
        sc.freq = 100e-6;
        sc.wander = 1e-7;
        DisciplineConfig cfg;
        cfg.loop.max_poll = 6;
        auto f = sim::run(sc, cfg);
        EXPECT_LE(f.late_max, 5e-3);
        EXPECT_LE(f.late_rms, 1e-3);
    }
}

// S1 of ../shared/anchors/discipline.md (chronyd 4.3: late RMS 21.9 µs median): the goal is
// 0.7 × that. Seeds fixed, as the anchors'; a guard against regressions, not the benchmark.
TEST(LoopSim, AnchorS1LateRms) {
    std::vector<double> rms;
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        sim::Scenario sc;
        sc.seed = seed;
        DisciplineConfig cfg;
        cfg.loop.max_poll = 6;
        rms.push_back(sim::run(sc, cfg).late_rms);
    }
    std::sort(rms.begin(), rms.end());
    EXPECT_LE(rms[2], 0.75 * 21.9e-6) << "median late RMS " << rms[2];
}

// S2 (WAN, wander 1e-8, polls 6-10): chronyd 4.3's median late RMS is 1100 µs, the goal 770 µs.
TEST(LoopSim, AnchorS2LateRms) {
    std::vector<double> rms;
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        sim::Scenario sc;
        sc.seed = seed;
        sc.offset = 0.1;
        sc.freq = 50e-6;
        sc.wander = 1e-8;
        sc.delay_base = 10e-3;
        sc.delay_mean = 2e-3;
        sc.delay_down_mean = 1e-3;
        rms.push_back(sim::run(sc, {}).late_rms);
    }
    std::sort(rms.begin(), rms.end());
    EXPECT_LE(rms[2], 0.7 * 1100e-6) << "median late RMS " << rms[2];
}

TEST(LoopSim, StartupStepsOnceThenSettles) {
    sim::Scenario sc;  // S3: 200 ms, 100 ppm, makestep 1 3
    sc.offset = 0.2;
    sc.freq = 100e-6;
    sc.duration = 3000;
    DisciplineConfig cfg;
    cfg.loop.max_poll = 6;
    auto f = sim::run(sc, cfg);
    EXPECT_EQ(f.steps, 1);
    ASSERT_TRUE(f.settled_1ms);
    EXPECT_LE(*f.settled_1ms, 131);  // chronyd's S1 figure

    // S3 as the anchors run it, with iburst: chronyd settles below 1 ms in 8 s (median).
    for (std::uint64_t seed = 1; seed <= 5; ++seed) {
        sc.seed = seed;
        sc.iburst = true;
        auto g = sim::run(sc, cfg);
        EXPECT_EQ(g.steps, 1);
        ASSERT_TRUE(g.settled_1ms);
        EXPECT_LE(*g.settled_1ms, 8) << "seed " << seed;
        EXPECT_LE(g.late_max, 1e-3);
    }
}

}  // namespace
}  // namespace timepipe::discipline
