// Clock filter (RFC 5905 §10) and the one-shot best-of-N choice.
#include "libtime/ntp/filter.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/test_support.hpp"

namespace timepipe::ntp {
namespace {

using timepipe::test::kSec;
using timepipe::test::kT0;
using timepipe::test::test_seed;

// Σ MAXDISP / 2^(i+1) for the stages i = first..7: what empty stages add to the peer dispersion.
double empty_stages(std::size_t first) {
    double sum = 0.0;
    for (std::size_t i = first; i < kFilterStages; ++i) sum += kMaxDispersion / std::ldexp(1.0, static_cast<int>(i) + 1);
    return sum;
}

TEST(NtpFilter, BestSamplePicksMinimumDelay) {
    const std::vector<NtpSample> s{{0.1, 0.050, 0, kT0},
                                   {0.2, 0.020, 0, kT0 + kSec},
                                   {0.3, 0.080, 0, kT0 + 2 * kSec},
                                   {0.4, 0.020, 0, kT0 + 3 * kSec}};
    EXPECT_EQ(best_sample(s), 1u);  // the earliest of equal delays
    EXPECT_EQ(best_sample({}), std::nullopt);
    const std::vector<NtpSample> nan{{0.1, std::numeric_limits<double>::quiet_NaN(), 0, kT0},
                                     {0.2, 0.5, 0, kT0}};
    EXPECT_EQ(best_sample(nan), 1u);
}

TEST(NtpFilter, FirstSampleGivesEstimateWithEmptyStagesInDispersion) {
    ClockFilter f;
    const auto e = f.add({0.25, 0.010, 0.001, kT0});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->offset, 0.25);
    EXPECT_EQ(e->delay, 0.010);
    EXPECT_EQ(e->time, kT0);
    EXPECT_EQ(e->jitter, 0.0);
    // RFC 5905 §10: ε = 0.001/2 + 16/4 + 16/8 + ... + 16/256
    EXPECT_DOUBLE_EQ(e->dispersion, 0.0005 + 7.9375);
    EXPECT_DOUBLE_EQ(empty_stages(1), 7.9375);
    EXPECT_EQ(f.size(), 1u);
}

TEST(NtpFilter, PicksMinimumDelayAmongStages) {
    ClockFilter f;
    ASSERT_TRUE(f.add({0.010, 0.050, 0.0, kT0}));
    const auto e = f.add({0.020, 0.020, 0.0, kT0 + kSec});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->offset, 0.020);
    // A later, slower sample does not displace the fast one, and it was used already.
    EXPECT_FALSE(f.add({0.030, 0.080, 0.0, kT0 + 2 * kSec}));
    EXPECT_EQ(f.estimate()->offset, 0.020);
    const auto e2 = f.add({0.005, 0.010, 0.0, kT0 + 3 * kSec});
    ASSERT_TRUE(e2);
    EXPECT_EQ(e2->offset, 0.005);
    EXPECT_EQ(e2->delay, 0.010);
}

TEST(NtpFilter, AgesDispersionAtPhi) {
    ClockFilter f;
    ASSERT_TRUE(f.add({0.0, 0.010, 0.001, kT0}));
    (void)f.add({0.0, 0.500, 0.002, kT0 + 1000 * kSec});
    // 0.001 + 15e-6 * 1000 s
    EXPECT_DOUBLE_EQ(f.stages()[1].dispersion, 0.016);
    EXPECT_DOUBLE_EQ(f.stages()[0].dispersion, 0.002);
    (void)f.add({0.0, 0.500, 0.002, kT0 + 3000 * kSec});
    EXPECT_DOUBLE_EQ(f.stages()[2].dispersion, 0.001 + 15e-6 * 3000);
    EXPECT_DOUBLE_EQ(f.stages()[1].dispersion, 0.002 + 15e-6 * 2000);
    // Empty stages do not age past MAXDISP, and nothing ages beyond it.
    EXPECT_EQ(f.stages()[3].dispersion, kMaxDispersion);
    (void)f.add({0.0, 0.500, 0.002, kT0 + 10'000'000 * kSec});
    EXPECT_EQ(f.stages()[1].dispersion, kMaxDispersion);
}

TEST(NtpFilter, PeerDispersionAndJitterByHand) {
    ClockFilter f;
    (void)f.add({0.010, 0.01, 0.004, kT0});
    (void)f.add({0.012, 0.02, 0.008, kT0});
    const auto e = f.add({0.007, 0.03, 0.016, kT0});
    ASSERT_FALSE(e);  // the best is the first sample, already used
    EXPECT_EQ(f.estimate()->offset, 0.010);
    // ψ by hand: sorted by delay the offsets are 0.010, 0.012, 0.007, so
    // ψ = sqrt(((0.010 − 0.012)² + (0.010 − 0.007)²) / (3 − 1)).
    const double jitter = std::sqrt((0.002 * 0.002 + 0.003 * 0.003) / 2);
    // Same samples, the minimum-delay one newest so that it is used.
    ClockFilter h;
    (void)h.add({0.007, 0.03, 0.016, kT0});
    (void)h.add({0.012, 0.02, 0.008, kT0});
    const auto he = h.add({0.010, 0.01, 0.004, kT0 + 1});
    ASSERT_TRUE(he);
    EXPECT_NEAR(he->jitter, jitter, 1e-15);
    EXPECT_NEAR(he->jitter, 0.00254950975679639, 1e-12);
    // ε = 0.004/2 + 0.008/4 + 0.016/8 + empty stages 3..7
    EXPECT_NEAR(he->dispersion, 0.002 + 0.002 + 0.002 + empty_stages(3), 1e-12);
}

TEST(NtpFilter, JitterHasPrecisionFloor) {
    ClockFilter f(std::ldexp(1.0, -20));
    (void)f.add({0.001, 0.01, 0.0, kT0});
    const auto e = f.add({0.001, 0.005, 0.0, kT0 + kSec});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->jitter, std::ldexp(1.0, -20));
}

TEST(NtpFilter, NeverUsesOlderSampleThanLastUsed) {
    ClockFilter f;
    ASSERT_TRUE(f.add({0.1, 0.010, 0.0, kT0 + 10 * kSec}));
    // A late-arriving reply stamped earlier, even with a smaller delay, is not used.
    EXPECT_FALSE(f.add({0.2, 0.001, 0.0, kT0 + 5 * kSec}));
    EXPECT_EQ(f.estimate()->offset, 0.1);
    // But it still sits in the filter.
    EXPECT_EQ(f.stages()[0].offset, 0.2);
    EXPECT_EQ(f.size(), 2u);
}

TEST(NtpFilter, OldestStageFallsOutAfterEight) {
    ClockFilter f;
    ASSERT_TRUE(f.add({0.5, 0.001, 0.0, kT0}));
    for (int i = 1; i < 8; ++i) EXPECT_FALSE(f.add({0.0, 0.1, 0.0, kT0 + i * kSec}));
    EXPECT_EQ(f.size(), 8u);
    EXPECT_EQ(f.stages()[7].offset, 0.5);
    // The ninth pushes the fast sample out; the best of the rest is newer, so it is used.
    const auto e = f.add({0.0, 0.2, 0.0, kT0 + 8 * kSec});
    ASSERT_TRUE(e);
    EXPECT_EQ(e->delay, 0.1);
    EXPECT_EQ(e->time, kT0 + 7 * kSec);  // newest among equal delays
    f.clear();
    EXPECT_EQ(f.size(), 0u);
    EXPECT_FALSE(f.estimate());
}

// Compare against a brute-force model: the estimate is the minimum-delay sample of the last
// eight, offered only if newer than the previous estimate; ε and ψ recomputed from scratch.
TEST(NtpFilter, RandomSamplesMatchBruteForce) {
    const std::uint64_t seed = test_seed("NtpFilter.RandomSamplesMatchBruteForce");
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> offset(-0.1, 0.1);
    std::uniform_real_distribution<double> delay(0.0, 0.2);
    std::uniform_real_distribution<double> disp(0.0, 0.01);
    std::uniform_int_distribution<UnixNanos> gap(0, 100 * kSec);
    for (int round = 0; round < 50; ++round) {
        SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed) + " round " + std::to_string(round));
        ClockFilter f;
        std::vector<NtpSample> history;  // dispersions as given, unaged
        std::optional<UnixNanos> last_used;
        UnixNanos t = kT0;
        for (int i = 0; i < 40; ++i) {
            t += gap(rng);
            const NtpSample s{offset(rng), delay(rng), disp(rng), t};
            history.push_back(s);
            const auto got = f.add(s);
            // Model: the last eight samples, aged by PHI * (t − their time).
            std::vector<NtpSample> held(history.end() - std::min<std::ptrdiff_t>(8, std::ssize(history)), history.end());
            for (auto& h : held) h.dispersion += kPhi * nanos_to_seconds(t - h.time);
            std::stable_sort(held.begin(), held.end(), [](const NtpSample& a, const NtpSample& b) {
                return a.delay < b.delay || (a.delay == b.delay && a.time > b.time);
            });
            const NtpSample& best = held.front();
            double eps = 0.0;
            double sq = 0.0;
            for (std::size_t k = 0; k < kFilterStages; ++k) {
                const double d = k < held.size() ? held[k].dispersion : kMaxDispersion;
                eps += d / std::ldexp(1.0, static_cast<int>(k) + 1);
                if (k > 0 && k < held.size()) sq += std::pow(held[k].offset - best.offset, 2);
            }
            const double psi = held.size() > 1 ? std::sqrt(sq / static_cast<double>(held.size() - 1)) : 0.0;
            if (last_used && best.time <= *last_used) {
                ASSERT_FALSE(got) << "sample " << i;
                continue;
            }
            ASSERT_TRUE(got) << "sample " << i;
            last_used = best.time;
            ASSERT_EQ(got->offset, best.offset);
            ASSERT_EQ(got->delay, best.delay);
            ASSERT_NEAR(got->dispersion, eps, 1e-9);
            ASSERT_NEAR(got->jitter, psi, 1e-12);
        }
    }
}

}  // namespace
}  // namespace timepipe::ntp
