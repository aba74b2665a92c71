// libtime/sim: the generator's transforms, the clock's kernel semantics, the statistics on known
// series, a closed loop with a scripted responder, and scenario parsing with its errors.
#include "libtime/sim/simulator.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace timepipe;
using namespace timepipe::sim;

TEST(SimRng, SameSeedSameSequenceAndPortableValue) {
    Rng a(42), b(42), c(43);
    std::uint64_t first = a.next();
    EXPECT_EQ(first, b.next());
    EXPECT_NE(first, c.next());
    // xoshiro256** seeded by splitmix64(42): a fixed value, whatever the standard library.
    Rng d(42);
    EXPECT_EQ(d.next(), first);
    double u = Rng(7).uniform();
    EXPECT_GT(u, 0.0);
    EXPECT_LT(u, 1.0);
}

TEST(SimRng, NormalHasUnitVarianceAndExponentialUnitMean) {
    Rng r(1);
    const int n = 200000;
    double s = 0, s2 = 0, e = 0;
    for (int i = 0; i < n; ++i) {
        double x = r.normal();
        s += x;
        s2 += x * x;
        e += r.exponential();
    }
    EXPECT_NEAR(s / n, 0.0, 0.01);
    EXPECT_NEAR(s2 / n, 1.0, 0.01);
    EXPECT_NEAR(e / n, 1.0, 0.01);
}

TEST(SimClock, FrequencyErrorAndSetFrequencyCompose) {
    SimClock c(0);
    c.advance(1000, 1e-5);
    EXPECT_NEAR(c.offset(), 1e-2, 1e-12);
    c.set_frequency_ppm(-10);  // cancels the error to first order: (1 + 1e-5)(1 - 1e-5) - 1 = -1e-10
    c.advance(1000, 1e-5);
    EXPECT_NEAR(c.offset(), 1e-2 - 1e-7, 1e-12);
}

TEST(SimClock, FrequencyClampedTo500ppm) {
    SimClock c;
    c.set_frequency_ppm(1e6);
    EXPECT_DOUBLE_EQ(c.frequency(), 500e-6);
    c.set_frequency_ppm(-1e6);
    EXPECT_DOUBLE_EQ(c.frequency(), -500e-6);
}

TEST(SimClock, StepIsImmediate) {
    SimClock c(0.5);
    c.step(-0.5);
    EXPECT_DOUBLE_EQ(c.offset(), 0.0);
}

TEST(SimClock, SlewWithDurationCompletesExactly) {
    SimClock c;
    c.slew(0.001, 10);  // 100 ppm for 10 s
    c.advance(5, 0);
    EXPECT_NEAR(c.offset(), 0.0005, 1e-12);
    c.advance(100, 0);
    EXPECT_NEAR(c.offset(), 0.001, 1e-12);
    EXPECT_EQ(c.slew_remaining(), 0.0);
}

TEST(SimClock, SlewWithoutDurationRunsAt500ppmInTotal) {
    SimClock c;
    c.set_frequency_ppm(100);
    c.slew(-0.01, 0);  // -500 ppm in total: -600 ppm of slew on top of +100
    c.advance(1, 0);
    EXPECT_NEAR(c.offset(), -500e-6, 1e-12);
    c.advance(100, 0);  // the rest of the 10 ms delivered, then +100 ppm again
    double slew_end = 0.01 / 600e-6;
    EXPECT_NEAR(c.offset(), -0.01 + 100e-6 * slew_end + 100e-6 * (101 - slew_end), 1e-9);
}

TEST(SimClock, SlewWithDurationRunsAsAskedUpToTheTickLimit) {
    SimClock c;
    c.slew(0.01, 1);  // 10 000 ppm, as chronyd slews
    c.advance(1, 0);
    EXPECT_NEAR(c.offset(), 0.01, 1e-12);
    c.slew(1, 1);  // wants 100 %: runs at 10 % for 10 s, stretched, not lost
    c.advance(5, 0);
    EXPECT_NEAR(c.offset(), 0.51, 1e-12);
    c.advance(20, 0);
    EXPECT_NEAR(c.offset(), 1.01, 1e-12);
}

TEST(SimStats, SettledTime) {
    EXPECT_EQ(settled_time({5, 5, 0.5, 2, 0.5, 0.5}, 1), 4.0);
    EXPECT_EQ(settled_time({0.5, 0.5}, 1), 0.0);
    EXPECT_EQ(settled_time({0.5, 2}, 1), std::nullopt);
}

TEST(SimStats, FiguresOfAKnownSeries) {
    std::vector<double> off(200, 0.0), fe(200, 0.0);
    for (std::size_t i = 0; i < 200; ++i) off[i] = static_cast<double>(i % 100 + 1) * 1e-6;  // late: 1..100 us
    for (std::size_t i = 100; i < 200; ++i) fe[i] = (i % 2 ? 3e-6 : -3e-6);
    auto f = compute_figures(off, fe, 100);
    EXPECT_NEAR(f.late_max, 100e-6, 1e-15);
    EXPECT_NEAR(f.late_p99, 99e-6, 1e-15);
    EXPECT_NEAR(f.late_rms, std::sqrt(100.0 * 101 * 201 / 6 / 100) * 1e-6, 1e-12);
    EXPECT_NEAR(f.freq_rms, 3.0, 1e-9);
    EXPECT_EQ(f.settled_1ms, 0.0);
}

TEST(SimRun, OpenLoopOffsetGrowsAsTheFrequencyErrorPredicts) {
    Scenario sc;
    sc.offset = 0.001;
    sc.freq = 2e-6;
    sc.duration = 1000;
    sc.minpoll = sc.maxpoll = 6;
    Simulator s(sc);
    int n = 0;
    auto f = s.run([&](const Sample& smp) -> Result<Adjust> {
        ++n;
        EXPECT_EQ(smp.source, "ntp://192.0.2.1:123");
        EXPECT_EQ(smp.poll, 6);
        EXPECT_EQ(smp.version, 4);
        // the measured offset is minus the clock's offset, within the delay asymmetry
        double t = static_cast<double>(smp.time - Simulator::kEpochSeconds * kNanosPerSecond) / 1e9;
        EXPECT_NEAR(smp.offset, -(0.001 + 2e-6 * t), smp.delay);
        return Adjust{};
    });
    ASSERT_TRUE(f);
    EXPECT_EQ(n, 16);  // t = 1, 65, ..., 961
    EXPECT_EQ(f->requests, 16u);
    ASSERT_EQ(s.abs_offsets().size(), 1001u);
    EXPECT_NEAR(s.abs_offsets().back(), 0.001 + 2e-6 * 1000, 1e-12);
    EXPECT_NEAR(f->late_max, 0.003, 1e-12);
    EXPECT_EQ(f->settled_1ms, std::nullopt);
    EXPECT_NEAR(f->freq_rms, 2.0, 1e-9);
}

TEST(SimRun, RandomWalkVarianceGrowsLinearly) {
    // Open loop, no constant: the frequency error after k s is σ·sqrt(k+1)·N(0,1); over many seeds
    // its variance at the end is σ²·(k+1).
    double s2 = 0;
    const int seeds = 400;
    for (int seed = 1; seed <= seeds; ++seed) {
        Scenario sc;
        sc.seed = static_cast<std::uint64_t>(seed);
        sc.wander = 1e-6;
        sc.duration = 99;
        sc.servers = 1;
        Simulator s(sc);
        auto f = s.run([](const Sample&) -> Result<Adjust> { return Adjust{}; });
        ASSERT_TRUE(f);
        // The offset at 99 s is Σ_{k<99} f_gen(k) = σ·Σ_{i<99} (99 - i)·N_i: Var = σ²·Σ_{m=1..99} m².
        double x = s.abs_offsets().back();
        s2 += x * x;
    }
    double expect = 1e-12 * (99.0 * 100 * 199 / 6);
    EXPECT_NEAR(s2 / seeds / expect, 1.0, 0.2);
}

TEST(SimRun, StepAndFrequencyFromTheResponderApply) {
    Scenario sc;
    sc.offset = 0.5;
    sc.duration = 200;
    sc.minpoll = sc.maxpoll = 6;
    Simulator s(sc);
    bool first = true;
    auto f = s.run([&](const Sample& smp) -> Result<Adjust> {
        Adjust a;
        if (first) a.step = smp.offset;
        first = false;
        return a;
    });
    ASSERT_TRUE(f);
    EXPECT_EQ(f->steps, 1u);
    EXPECT_LT(s.abs_offsets().back(), 1e-3);
    EXPECT_EQ(f->settled_1ms, 2.0);  // stepped at t = 1.0002 s; sampled at 2
}

TEST(SimRun, ResponderErrorEndsTheRun) {
    Scenario sc;
    Simulator s(sc);
    auto f = s.run([](const Sample&) -> Result<Adjust> { return fail("child died", 69); });
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().what, "child died");
}

TEST(SimRun, OutageDropsSamplesAndIburstPollsFast) {
    Scenario sc;
    sc.duration = 100;
    sc.iburst = true;
    sc.outages = {{60, 80}};
    std::vector<double> times;
    Simulator s(sc);
    auto f = s.run([&](const Sample& smp) -> Result<Adjust> {
        times.push_back(static_cast<double>(smp.time - Simulator::kEpochSeconds * kNanosPerSecond) / 1e9);
        return Adjust{};
    });
    ASSERT_TRUE(f);
    ASSERT_EQ(times.size(), 4u);  // t = 1, 3, 5, 7; 71 is lost in the outage, 135 past the end
    EXPECT_NEAR(times[3], 7, 0.01);
    EXPECT_EQ(f->requests, 5u);
    ASSERT_TRUE(f->outage_end_offset);
}

TEST(SimRun, FalsetickerColluderAndRoughtimeSamples) {
    Scenario sc;
    sc.duration = 10;
    sc.servers = 3;
    sc.server_offset[2] = 0.05;
    sc.collude = 1;
    sc.collude_offset = 10;
    sc.roughtime = 1;
    sc.roughtime_radius = 0.5;
    sc.roughtime_offset[1] = -3;
    std::map<std::string, double> got;
    Simulator s(sc);
    auto f = s.run([&](const Sample& smp) -> Result<Adjust> {
        got[smp.source] = smp.offset;
        if (smp.source.starts_with("roughtime://")) {
            EXPECT_EQ(smp.verified, true);
            EXPECT_EQ(smp.root_dispersion, 0.5);
            EXPECT_EQ(smp.refid, "ROUG");
        }
        return Adjust{};
    });
    ASSERT_TRUE(f);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_NEAR(got["ntp://192.0.2.1:123"], 10, 1e-3);
    EXPECT_NEAR(got["ntp://192.0.2.2:123"], 0.05, 1e-3);
    EXPECT_NEAR(got["ntp://192.0.2.3:123"], 0, 1e-3);
    EXPECT_NEAR(got["roughtime://192.0.2.101:2002"], -3, 1e-3);
}

TEST(SimScenario, ParsesEveryKey) {
    auto sc = parse_scenario(
        "# comment\n\nseed 7\nduration 500 # trailing\noffset -0.1\nfreq 1e-5\nwander 1e-9\n"
        "delay-up-base 1e-3\ndelay-up-mean 2e-3\ndelay-down-base 3e-3\ndelay-down-mean 4e-3\n"
        "servers 5\nminpoll 4\nmaxpoll 8\niburst on\nserver-offset 2 0.05\noutage 10 20\n"
        "server-step 30 1.5\ncollude 3 10\nroughtime 2\nroughtime-radius 0.5\n"
        "roughtime-interval 60\nroughtime-offset 1 -2\n");
    ASSERT_TRUE(sc) << sc.error().what;
    EXPECT_EQ(sc->seed, 7u);
    EXPECT_EQ(sc->duration, 500);
    EXPECT_EQ(sc->offset, -0.1);
    EXPECT_EQ(sc->delay_down_mean, 4e-3);
    EXPECT_EQ(sc->servers, 5);
    EXPECT_EQ(sc->minpoll, 4);
    EXPECT_TRUE(sc->iburst);
    EXPECT_EQ(sc->server_offset.at(2), 0.05);
    ASSERT_EQ(sc->outages.size(), 1u);
    EXPECT_EQ(sc->outages[0].second, 20);
    ASSERT_EQ(sc->server_steps.size(), 1u);
    EXPECT_EQ(sc->server_steps[0].seconds, 1.5);
    EXPECT_EQ(sc->collude, 3);
    EXPECT_EQ(sc->roughtime_offset.at(1), -2);
}

TEST(SimScenario, ErrorsNameTheLine) {
    auto e = [](const char* text) {
        auto sc = parse_scenario(text);
        return sc ? std::string("ok") : sc.error().what;
    };
    EXPECT_EQ(e("seed 1\nwander x\n"), "line 2: \"wander\": bad number \"x\"");
    EXPECT_EQ(e("\n\nbogus 1\n"), "line 3: unknown key \"bogus\"");
    EXPECT_EQ(e("servers 0\n"), "line 1: \"servers\": \"0\" is not an integer from 1 to 64");
    EXPECT_EQ(e("outage 5\n"), "line 1: \"outage\": takes 2 values");
    EXPECT_EQ(e("offset 1 2\n"), "line 1: \"offset\": takes 1 value");
    EXPECT_EQ(e("iburst maybe\n"), "line 1: \"iburst\": \"maybe\" is not on or off");
    EXPECT_EQ(e("duration 0\n"), "line 1: \"duration\": 0 is out of range");
    EXPECT_EQ(e("offset nan\n"), "line 1: \"offset\": bad number \"nan\"");
    EXPECT_EQ(e("minpoll 8\nmaxpoll 6\n"), "minpoll 8 is above maxpoll 6");
    EXPECT_EQ(e("server-offset 2 0.1\n"), "\"server-offset\": server 2 of 1");
    EXPECT_EQ(e("outage 20 10\n"), "\"outage\": the end is not after the start");
}

TEST(SimRun, PollFromTheDisciplineCountsFromTheLastRequestAndIsClamped) {
    Scenario sc;
    sc.duration = 600;
    sc.minpoll = 4;
    sc.maxpoll = 8;
    std::vector<double> times;
    std::vector<int> polls;
    Simulator s(sc);
    auto f = s.run([&](const Sample& smp) -> Result<Adjust> {
        times.push_back(static_cast<double>(smp.time - Simulator::kEpochSeconds * kNanosPerSecond) / 1e9);
        polls.push_back(smp.poll);
        Adjust a;
        a.poll = times.size() == 1 ? 12 : 5;  // 12 clamped to maxpoll 8; then 2^5
        return a;
    });
    ASSERT_TRUE(f);
    ASSERT_EQ(times.size(), 12u);  // t = 1, 257 (not 17), then every 32 s: 289 ... 577
    EXPECT_NEAR(times[1], 257, 0.01);
    EXPECT_NEAR(times[2], 289, 0.01);
    EXPECT_EQ(polls[0], 4);
    EXPECT_EQ(polls[1], 8);
    EXPECT_EQ(polls[2], 5);
    EXPECT_EQ(f->requests, 12u);
}

TEST(SimRun, ServerStepMovesEveryServerFromThatTime) {
    Scenario sc;
    sc.duration = 200;
    sc.servers = 2;
    sc.minpoll = sc.maxpoll = 6;
    sc.server_steps = {{100, 0.25}};
    std::vector<std::pair<double, double>> got;  // (time, offset)
    Simulator s(sc);
    auto f = s.run([&](const Sample& smp) -> Result<Adjust> {
        got.emplace_back(static_cast<double>(smp.time - Simulator::kEpochSeconds * kNanosPerSecond) / 1e9, smp.offset);
        return Adjust{};
    });
    ASSERT_TRUE(f);
    ASSERT_EQ(got.size(), 8u);  // t = 1, 1.1, 65, 65.1, 129, 129.1, 193, 193.1
    for (auto& [t, off] : got) EXPECT_NEAR(off, t < 100 ? 0 : 0.25, 1e-3) << t;
}
