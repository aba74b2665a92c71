// Source selection (RFC 5905 §11.2): intersection, cluster, system peer.
#include "libtime/ntp/select.hpp"
#include "libtime/ntp/onwire.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/test_support.hpp"

namespace timepipe::ntp {
namespace {

using Indices = std::vector<std::size_t>;

using timepipe::test::test_seed;

// A source at `offset` whose root distance is exactly `lambda` (lambda ≥ 2.5 ms).
SelectCandidate source(double offset, double lambda, double jitter = 0.0, int stratum = 2) {
    return {.offset = offset, .delay = 0.01, .dispersion = lambda - 0.005 - jitter, .jitter = jitter,
            .root_delay = 0.0, .root_dispersion = 0.0, .stratum = stratum};
}

Indices sorted(Indices v) {
    std::sort(v.begin(), v.end());
    return v;
}

TEST(NtpSelect, RootDistanceByHand) {
    const SelectCandidate c{.offset = 0.5, .delay = 0.010, .dispersion = 0.002, .jitter = 0.001,
                            .root_delay = 0.020, .root_dispersion = 0.003};
    EXPECT_DOUBLE_EQ(root_distance(c), 0.015 + 0.003 + 0.002 + 0.001);
    // MINDISP floor: a loopback server with no delay still claims ±2.5 ms.
    EXPECT_DOUBLE_EQ(root_distance(SelectCandidate{}), 0.0025);
    EXPECT_DOUBLE_EQ(root_distance(source(0.0, 0.02)), 0.02);
}

// One root distance, one MINDISP: the on-wire form (a client's sample and the reply's root
// fields) is the candidate form, on the MINDISP floor and above it, with jitter and age.
TEST(NtpSelect, OnWireRootDistanceIsTheSame) {
    EXPECT_DOUBLE_EQ(kMinDisp, 0.005);  // RFC 5905 §7.2
    Sample s;
    s.delay = 0.001;
    s.dispersion = 0.0002;
    EXPECT_DOUBLE_EQ(root_distance(s, NtpShort{0}, NtpShort{0}), 0.0025 + 0.0002);
    for (std::uint32_t rd : {0u, 0x10u, 0x1000u, 0x20000u}) {
        const double age = 7.0, jitter = 0.0004;
        const SelectCandidate c{.delay = s.delay, .dispersion = s.dispersion + kPhi * age, .jitter = jitter,
                                .root_delay = short_to_seconds(NtpShort{rd}),
                                .root_dispersion = short_to_seconds(NtpShort{rd / 2})};
        EXPECT_DOUBLE_EQ(root_distance(s, NtpShort{rd}, NtpShort{rd / 2}, jitter, age), root_distance(c)) << rd;
    }
}

TEST(NtpSelect, MajorityRejectsFalsetickerOneSecondOff) {
    const std::vector<SelectCandidate> c{source(0.001, 0.02), source(-0.002, 0.02),
                                         source(1.0, 0.02), source(0.003, 0.02)};
    const auto sel = select_sources(c);
    ASSERT_TRUE(sel) << to_string(sel.error());
    EXPECT_EQ(sorted(sel->truechimers), (Indices{0, 1, 3}));
    EXPECT_EQ(std::count(sel->survivors.begin(), sel->survivors.end(), 2u), 0);
    EXPECT_NE(sel->system_peer, 2u);
    // The three good intervals all meet on [0.003 − 0.02, −0.002 + 0.02].
    EXPECT_DOUBLE_EQ(sel->low, 0.003 - 0.02);
    EXPECT_DOUBLE_EQ(sel->high, -0.002 + 0.02);
}

TEST(NtpSelect, FalsetickerWithWideIntervalStillOverlapsIsTruechimer) {
    // ntpd's rule: a source is a truechimer when its interval meets the intersection.
    const std::vector<SelectCandidate> c{source(0.0, 0.01), source(0.001, 0.01), source(0.5, 0.6)};
    const auto sel = select_sources(c);
    ASSERT_TRUE(sel);
    EXPECT_EQ(sorted(sel->truechimers), (Indices{0, 1, 2}));
}

TEST(NtpSelect, SingleSourceIsSystemPeer) {
    const std::vector<SelectCandidate> c{source(0.25, 0.05)};
    const auto sel = select_sources(c);
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->truechimers, (Indices{0}));
    EXPECT_EQ(sel->system_peer, 0u);
    EXPECT_DOUBLE_EQ(sel->low, 0.20);
    EXPECT_DOUBLE_EQ(sel->high, 0.30);
}

TEST(NtpSelect, NoMajorityWhenSourcesDisagree) {
    const std::vector<SelectCandidate> two{source(0.0, 0.02), source(1.0, 0.02)};
    ASSERT_FALSE(select_sources(two));
    EXPECT_EQ(select_sources(two).error(), SelectError::NoMajority);
    const std::vector<SelectCandidate> split{source(0.0, 0.02), source(0.001, 0.02),
                                             source(1.0, 0.02), source(1.001, 0.02)};
    EXPECT_EQ(select_sources(split).error(), SelectError::NoMajority);
    // Three against two: the three win.
    auto three = split;
    three.push_back(source(0.002, 0.02));
    const auto sel = select_sources(three);
    ASSERT_TRUE(sel);
    EXPECT_EQ(sorted(sel->truechimers), (Indices{0, 1, 4}));
}

TEST(NtpSelect, TouchingIntervalsIntersect) {
    const std::vector<SelectCandidate> c{source(0.0, 0.5), source(1.0, 0.5)};
    const auto sel = select_sources(c);
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->low, 0.5);
    EXPECT_EQ(sel->high, 0.5);
}

TEST(NtpSelect, UnfitSourcesTakeNoPart) {
    EXPECT_EQ(select_sources({}).error(), SelectError::NoCandidates);
    const std::vector<SelectCandidate> unsynced{source(0.0, 0.02, 0.0, 16)};
    EXPECT_EQ(select_sources(unsynced).error(), SelectError::NoCandidates);
    const std::vector<SelectCandidate> far{source(0.0, 2.0)};
    EXPECT_EQ(select_sources(far).error(), SelectError::NoCandidates);
    // An unfit source does not count towards the majority either.
    const std::vector<SelectCandidate> c{source(0.0, 0.02), source(1.0, 2.0), source(1.0, 0.02, 0, 16)};
    const auto sel = select_sources(c);
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->truechimers, (Indices{0}));
    EXPECT_FALSE(select_sources(c, SelectConfig{.max_distance = 0.01}));
}

TEST(NtpSelect, ClusterTrimsOutlierThenStopsAtPeerJitter) {
    // All intervals overlap, so all are truechimers; the 0.3 s one is an outlier.
    const std::vector<SelectCandidate> c{source(0.000, 0.5, 0.01), source(0.001, 0.5, 0.01),
                                         source(-0.001, 0.5, 0.01), source(0.002, 0.5, 0.01),
                                         source(0.300, 0.5, 0.01)};
    const auto sel = select_sources(c);
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->truechimers.size(), 5u);
    // Selection jitter of the rest (≈ 2.6 ms at most) is below their peer jitter (10 ms): stop.
    EXPECT_EQ(sorted(sel->survivors), (Indices{0, 1, 2, 3}));
}

TEST(NtpSelect, ClusterTrimsDownToMinSurvivors) {
    const std::vector<SelectCandidate> c{source(0.000, 0.5, 1e-6), source(0.001, 0.5, 1e-6),
                                         source(-0.001, 0.5, 1e-6), source(0.004, 0.5, 1e-6),
                                         source(0.300, 0.5, 1e-6)};
    const auto sel = select_sources(c);
    ASSERT_TRUE(sel);
    // Drops 0.300 first, then 0.004 (largest selection jitter), and keeps NMIN = 3.
    EXPECT_EQ(sorted(sel->survivors), (Indices{0, 1, 2}));
    const auto one = select_sources(c, SelectConfig{.min_survivors = 1});
    ASSERT_TRUE(one);
    EXPECT_EQ(one->survivors.size(), 1u);
}

TEST(NtpSelect, SystemPeerHasBestMerit) {
    // Lower stratum wins over a smaller root distance (merit = stratum * MAXDIST + λ).
    const std::vector<SelectCandidate> c{source(0.0, 0.010, 0.0, 3), source(0.001, 0.050, 0.0, 2),
                                         source(0.002, 0.020, 0.0, 3)};
    const auto sel = select_sources(c);
    ASSERT_TRUE(sel);
    EXPECT_EQ(sel->system_peer, 1u);
    EXPECT_EQ(sel->survivors, (Indices{1, 0, 2}));
    // Same stratum: the smallest root distance.
    const std::vector<SelectCandidate> d{source(0.0, 0.030), source(0.001, 0.010), source(0.002, 0.020)};
    EXPECT_EQ(select_sources(d)->system_peer, 1u);
}

// n good sources near the true offset and f < n bad ones each far off on its own: the good
// ones are exactly the truechimers and the system peer is one of them.
TEST(NtpSelect, RandomFalsetickersAreRejected) {
    const std::uint64_t seed = test_seed("NtpSelect.RandomFalsetickersAreRejected");
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 500; ++round) {
        SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed) + " round " + std::to_string(round));
        const int good = std::uniform_int_distribution<int>(1, 8)(rng);
        const int bad = std::uniform_int_distribution<int>(0, good - 1)(rng);
        const double truth = std::uniform_real_distribution<double>(-100, 100)(rng);
        std::vector<SelectCandidate> c;
        std::vector<bool> is_good;
        for (int i = 0; i < good; ++i) {
            const double lambda = std::uniform_real_distribution<double>(0.003, 0.05)(rng);
            const double err = std::uniform_real_distribution<double>(-lambda, lambda)(rng);
            c.push_back(source(truth + err, lambda, lambda / 4));
            is_good.push_back(true);
        }
        for (int i = 0; i < bad; ++i) {
            const double sign = (rng() & 1) ? 1.0 : -1.0;
            c.push_back(source(truth + sign * (1.0 + 0.5 * i), 0.05));
            is_good.push_back(false);
        }
        // Shuffle so the index bookkeeping is exercised.
        std::vector<std::size_t> perm(c.size());
        for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = i;
        std::shuffle(perm.begin(), perm.end(), rng);
        std::vector<SelectCandidate> shuffled;
        Indices want;
        for (std::size_t i = 0; i < perm.size(); ++i) {
            shuffled.push_back(c[perm[i]]);
            if (is_good[perm[i]]) want.push_back(i);
        }
        const auto sel = select_sources(shuffled);
        ASSERT_TRUE(sel) << to_string(sel.error());
        ASSERT_EQ(sorted(sel->truechimers), want);
        ASSERT_TRUE(std::binary_search(want.begin(), want.end(), sel->system_peer));
        ASSERT_LE(sel->low, truth);
        ASSERT_GE(sel->high, truth);
        ASSERT_GE(sel->survivors.size(), std::min<std::size_t>(3, want.size()));
        for (std::size_t s : sel->survivors)
            ASSERT_TRUE(std::binary_search(want.begin(), want.end(), s));
    }
}

}  // namespace
}  // namespace timepipe::ntp
