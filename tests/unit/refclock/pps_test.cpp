// libtime/refclock/pps: sequence numbers (repeats, gaps, wrap, going back, stale times), the
// pairing of pulses with coarse seconds (fixed vectors: nearest second, the coarse sample
// nearest in time, waiting for a later one, refusals, cable offset, jitter), and a randomized
// property: with a coarse source within the limits, every pulse's offset is exactly its
// second minus its timestamp.
#include "libtime/refclock/pps.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::refclock;

namespace {

using timepipe::test::kMs;
using timepipe::test::kT0;

PpsConfig pps_config() {
    PpsConfig c;
    c.source = "pps://pps0";
    return c;
}

}  // namespace

TEST(PpsSequence, RepeatsGapsAndNoneYet) {
    PpsSequence s;
    EXPECT_EQ(s.on_edge(0, 0), PpsSequence::Verdict::none_yet);
    EXPECT_EQ(s.on_edge(7, kT0), PpsSequence::Verdict::pulse);
    EXPECT_EQ(s.on_edge(7, kT0), PpsSequence::Verdict::repeated);
    EXPECT_EQ(s.on_edge(8, kT0 + kNanosPerSecond), PpsSequence::Verdict::pulse);
    EXPECT_EQ(s.on_edge(11, kT0 + 4 * kNanosPerSecond), PpsSequence::Verdict::pulse);  // 9, 10 missed
    EXPECT_EQ(s.pulses(), 3u);
    EXPECT_EQ(s.repeated(), 1u);
    EXPECT_EQ(s.missed(), 2u);
    EXPECT_EQ(s.restarts(), 0u);
}

TEST(PpsSequence, WrapsModulo2To32) {
    PpsSequence s;
    EXPECT_EQ(s.on_edge(0xffffffffu, kT0), PpsSequence::Verdict::pulse);
    EXPECT_EQ(s.on_edge(1, kT0 + 2 * kNanosPerSecond), PpsSequence::Verdict::pulse);  // 0 skipped
    EXPECT_EQ(s.missed(), 1u);
}

TEST(PpsSequence, GoingBackIsARestartNotAGap) {
    PpsSequence s;
    EXPECT_EQ(s.on_edge(1000, kT0), PpsSequence::Verdict::pulse);
    EXPECT_EQ(s.on_edge(3, kT0 + kNanosPerSecond), PpsSequence::Verdict::backwards);
    EXPECT_EQ(s.on_edge(4, kT0 + 2 * kNanosPerSecond), PpsSequence::Verdict::pulse);
    EXPECT_EQ(s.restarts(), 1u);
    EXPECT_EQ(s.missed(), 0u);
    EXPECT_EQ(s.pulses(), 3u);
}

TEST(PpsSequence, ANewNumberAtAnOldTimeIsStale) {
    PpsSequence s;
    EXPECT_EQ(s.on_edge(5, kT0), PpsSequence::Verdict::pulse);
    EXPECT_EQ(s.on_edge(6, kT0), PpsSequence::Verdict::stale);
    EXPECT_EQ(s.on_edge(7, kT0 + kNanosPerSecond), PpsSequence::Verdict::pulse);
    EXPECT_EQ(s.stale(), 1u);
    EXPECT_EQ(s.missed(), 0u);
    EXPECT_EQ(s.pulses(), 2u);
}

TEST(PpsCoarse, FromSampleRefusesWhatNamesNoSecond) {
    Sample s;
    s.time = kT0;
    s.offset = -0.25;
    s.leap = 1;
    s.stratum = 0;
    auto c = coarse_from_sample(s);
    ASSERT_TRUE(c);
    EXPECT_EQ(*c, (CoarseSecond{kT0, -0.25, 1}));
    auto bad = s;
    bad.leap = 3;
    EXPECT_FALSE(coarse_from_sample(bad));
    bad = s;
    bad.stratum = 16;
    EXPECT_FALSE(coarse_from_sample(bad));
    bad = s;
    bad.verified = false;
    EXPECT_FALSE(coarse_from_sample(bad));
    bad = s;
    bad.kod = "RATE";
    EXPECT_FALSE(coarse_from_sample(bad));
    bad = s;
    bad.offset = NAN;
    EXPECT_FALSE(coarse_from_sample(bad));
    bad = s;
    bad.offset = 2e9;
    EXPECT_FALSE(coarse_from_sample(bad));
}

// The NMEA case: the sentence naming second S arrives 300 ms after the pulse, so the sample
// says UTC = receive time - 0.3 s; the pulse waits for it.
TEST(PpsPairer, WaitsForTheSecondNamedAfterThePulse) {
    PpsPairer p(pps_config());
    const UnixNanos pulse = kT0 + 1234;   // local clock 1.234 us ahead of UTC at the pulse
    p.add_pulse(pulse);
    EXPECT_TRUE(p.advance(pulse).empty());
    EXPECT_EQ(p.pending(), 1u);
    p.add_coarse({pulse + 300 * kMs, -0.3 - 1234e-9 + 0.02, 2});  // 20 ms of error in the coarse source
    auto out = p.advance(pulse + 300 * kMs);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].kind, PpsOutcome::Kind::sample);
    const Sample& s = out[0].sample;
    EXPECT_EQ(s.source, "pps://pps0");
    EXPECT_EQ(s.time, pulse);
    EXPECT_DOUBLE_EQ(s.offset, -1234e-9);
    EXPECT_EQ(s.stratum, 0);
    EXPECT_EQ(s.refid, "PPS");
    EXPECT_EQ(s.leap, 2);
    EXPECT_EQ(s.delay, 0);
    EXPECT_DOUBLE_EQ(s.dispersion, 1e-9);
    EXPECT_FALSE(s.jitter);
    EXPECT_EQ(p.pending(), 0u);
}

TEST(PpsPairer, TakesTheCoarseSampleNearestInTime) {
    PpsPairer p(pps_config());
    // Two coarse samples around the pulse; only the nearer (after) one is within 0.4 s.
    p.add_coarse({kT0 - 900 * kMs, 0.45, 0});
    p.add_coarse({kT0 + 100 * kMs, -0.1, 0});
    p.add_pulse(kT0 + 5000);
    auto out = p.advance(kT0 + 5000);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].kind, PpsOutcome::Kind::sample);
    EXPECT_DOUBLE_EQ(out[0].sample.offset, -5e-6);
}

TEST(PpsPairer, RefusesAnAmbiguousSecond) {
    PpsPairer p(pps_config());
    p.add_pulse(kT0);
    p.add_coarse({kT0 + 100 * kMs, 0.45, 0});   // UTC of the pulse by it: kT0 + 0.45 s
    auto out = p.advance(kT0);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].kind, PpsOutcome::Kind::too_far);
    EXPECT_EQ(out[0].reason, "coarse time 0.45 s from the nearest second (limit 0.4 s)");
    // Just inside the limit, on the other side of the second.
    p.add_pulse(kT0 + kNanosPerSecond);
    p.add_coarse({kT0 + kNanosPerSecond + 100 * kMs, -0.39, 0});
    out = p.advance(kT0 + kNanosPerSecond);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].kind, PpsOutcome::Kind::sample);
    EXPECT_NEAR(out[0].sample.offset, 0, 1e-15);
}

TEST(PpsPairer, NoSecondWithinMaxAge) {
    PpsPairer p(pps_config());
    p.add_coarse({kT0 - 3 * kNanosPerSecond, 0, 0});   // too old
    p.add_pulse(kT0);
    EXPECT_TRUE(p.advance(kT0 + kNanosPerSecond).empty());   // may still come
    auto out = p.advance(kT0 + 2 * kNanosPerSecond);       // waited max_age
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].kind, PpsOutcome::Kind::no_second);
    EXPECT_EQ(out[0].reason, "no coarse second within 2 s of the pulse");
    EXPECT_EQ(out[0].pulse, kT0);
}

TEST(PpsPairer, FinishDecidesWhatIsPending) {
    PpsPairer p(pps_config());
    p.add_coarse({kT0 - 500 * kMs, 0.0001, 0});
    p.add_pulse(kT0 + 777);
    p.add_pulse(kT0 + kNanosPerSecond + 888);
    EXPECT_TRUE(p.advance(kT0 + kNanosPerSecond + 888).empty());
    auto out = p.finish();
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].kind, PpsOutcome::Kind::sample);
    EXPECT_DOUBLE_EQ(out[0].sample.offset, -777e-9);
    EXPECT_EQ(out[1].kind, PpsOutcome::Kind::sample);   // 1.5 s from the coarse sample: within 2 s
    EXPECT_DOUBLE_EQ(out[1].sample.offset, -888e-9);
    EXPECT_EQ(p.pending(), 0u);
}

TEST(PpsPairer, CableOffsetAndJitter) {
    auto c = pps_config();
    c.offset = 150e-9;   // 30 m of cable
    c.resolution = 1e-8;
    c.precision = -27;
    PpsPairer p(c);
    const std::int64_t phase[] = {1000, 3000, 2000};
    std::vector<Sample> got;
    for (int i = 0; i < 3; ++i) {
        UnixNanos pulse = kT0 + i * kNanosPerSecond + phase[i];
        p.add_coarse({pulse, 0, 0});
        p.add_pulse(pulse);
        for (auto& o : p.advance(pulse)) got.push_back(o.sample);
    }
    ASSERT_EQ(got.size(), 3u);
    EXPECT_DOUBLE_EQ(got[0].offset, -1000e-9 + 150e-9);
    EXPECT_DOUBLE_EQ(got[2].offset, -2000e-9 + 150e-9);
    EXPECT_FALSE(got[0].jitter);
    ASSERT_TRUE(got[2].jitter);
    // successive differences 2000 and 1000 ns: RMS sqrt((4 + 1) / 2) us
    EXPECT_NEAR(*got[2].jitter, std::sqrt(2.5) * 1e-6, 1e-15);
    EXPECT_NEAR(got[2].dispersion, 1e-8 + std::sqrt(2.5) * 1e-6, 1e-15);
    EXPECT_EQ(got[2].precision, -27);
}

TEST(PpsPairer, ExtremeTimesDoNotOverflow) {
    PpsPairer p(pps_config());
    const UnixNanos big = INT64_MAX - 10;
    p.add_coarse({big, 1e9, 0});
    p.add_pulse(big);
    auto out = p.advance(big);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].kind, PpsOutcome::Kind::too_far);
    EXPECT_EQ(out[0].reason, "coarse second out of range");
}

// Pulses at true UTC seconds, timestamped by a local clock off by -theta (|theta| < 0.3 s)
// with jitter of microseconds; pulses go missing; coarse samples (UTC right to 50 ms) arrive
// 0-0.9 s after their pulse, and some never come. Every pulse is decided once; each pairs with
// exactly its true second, its offset exact to the nanosecond, unless no coarse sample was
// within 2 s of it.
TEST(PpsPairer, RandomizedPulsesPairWithTheirSecond) {
    std::mt19937_64 rng(test::test_seed("pps_test"));
    for (int run = 0; run < 100; ++run) {
        std::uniform_real_distribution<double> theta_d(-0.3, 0.3);
        const auto theta = static_cast<std::int64_t>(theta_d(rng) * 1e9);
        std::uniform_int_distribution<std::int64_t> jitter(-20000, 20000), latency(0, 900 * kMs),
            error(-50 * kMs, 50 * kMs);
        std::bernoulli_distribution missing(0.1), lost_coarse(0.2);
        PpsPairer p(pps_config());
        std::size_t pulses = 0, samples = 0, decided = 0;
        std::vector<CoarseSecond> all;                          // every coarse sample made
        std::vector<std::pair<UnixNanos, CoarseSecond>> later;  // those still in flight
        UnixNanos last_pulse = 0;
        auto check = [&](const std::vector<PpsOutcome>& outs) {
            for (const auto& o : outs) {
                EXPECT_GT(o.pulse, last_pulse) << "run " << run << ": out of order or twice";
                last_pulse = o.pulse;
                ++decided;
                if (o.kind == PpsOutcome::Kind::sample) {
                    ++samples;
                    UnixNanos second = (o.pulse + theta + kNanosPerSecond / 2) / kNanosPerSecond * kNanosPerSecond;
                    EXPECT_EQ(static_cast<std::int64_t>(std::llround(o.sample.offset * 1e9)), second - o.pulse)
                        << "run " << run << " pulse " << o.pulse;
                    continue;
                }
                EXPECT_EQ(o.kind, PpsOutcome::Kind::no_second) << "run " << run << ": " << o.reason;
                for (const auto& c : all)
                    EXPECT_GT(std::llabs(c.time - o.pulse), 2 * kNanosPerSecond) << "run " << run << ": refused with a coarse second near";
            }
        };
        for (int i = 0; i < 40; ++i) {
            if (missing(rng)) continue;
            UnixNanos pulse = kT0 + i * kNanosPerSecond - theta + jitter(rng);
            p.add_pulse(pulse);
            ++pulses;
            if (!lost_coarse(rng)) {
                UnixNanos recv = pulse + latency(rng);
                CoarseSecond c{recv, nanos_to_seconds(theta + error(rng)), 0};
                all.push_back(c);
                later.push_back({recv, c});
            }
            for (auto it = later.begin(); it != later.end();) {
                if (it->first <= pulse) { p.add_coarse(it->second); it = later.erase(it); }
                else ++it;
            }
            check(p.advance(pulse));
        }
        for (auto& [t, c] : later) p.add_coarse(c);
        check(p.finish());
        EXPECT_EQ(p.pending(), 0u);
        EXPECT_EQ(decided, pulses) << "run " << run;
        EXPECT_GT(samples, pulses / 2) << "run " << run;
    }
}
