// libtime/roughtime/sequence: the measurement sequence of RFC 10049 §8.2 (TIMEPIPE_SEED=N replays).
#include "libtime/roughtime/sequence.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::roughtime;

TEST(RoughtimeSequence, MeasurementSequenceIsRandomAndTwice) {
    std::mt19937_64 rng(test::test_seed("roughtime_sequence_test"));
    UniformRandom uniform = [&](std::uint32_t bound) {
        return std::uniform_int_distribution<std::uint32_t>(0, bound - 1)(rng);
    };
    std::set<std::vector<std::size_t>> seen;
    for (int round = 0; round < 300; ++round) {
        const std::size_t servers = 3 + rng() % 8;
        const std::size_t pick = rng() % 2 ? 0 : 3 + rng() % (servers - 2);
        auto order = measurement_sequence(servers, pick, uniform);
        ASSERT_TRUE(order);
        const std::size_t n = pick == 0 ? servers : pick;
        ASSERT_EQ(order->size(), 2 * n);
        // The second half repeats the first, and the first has no repeats.
        EXPECT_TRUE(std::equal(order->begin(), order->begin() + static_cast<std::ptrdiff_t>(n),
                               order->begin() + static_cast<std::ptrdiff_t>(n)));
        std::set<std::size_t> distinct(order->begin(), order->end());
        EXPECT_EQ(distinct.size(), n);
        EXPECT_LT(*distinct.rbegin(), servers);
        if (servers == 3 && pick == 0) seen.insert(*order);
    }
    EXPECT_GT(seen.size(), 1u);  // the order is random, not the list's
    for (auto [servers, pick] : {std::pair<std::size_t, std::size_t>{2, 0}, {5, 2}, {3, 4}, {0, 0}}) {
        auto r = measurement_sequence(servers, pick, uniform);
        ASSERT_FALSE(r) << servers << " " << pick;
        EXPECT_EQ(r.error().exit_code, EX_USAGE);
    }
    EXPECT_EQ(measurement_sequence(2, 0, uniform).error().what,
              "2 servers: a measurement sequence needs at least 3 (RFC 10049 §8.2)");
}
