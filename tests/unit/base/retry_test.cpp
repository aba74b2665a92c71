// libtime/base/retry: the backoff doubles from 2^min to 2^max seconds and starts over on
// reset; allow() lets one event-driven try through per interval.
#include "libtime/base/retry.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace timepipe;
using namespace std::chrono_literals;

namespace {
std::vector<std::chrono::nanoseconds> take(RetrySchedule& r, int n) {
    std::vector<std::chrono::nanoseconds> out;
    for (int i = 0; i < n; ++i) out.push_back(r.next());
    return out;
}
}  // namespace

TEST(RetrySchedule, DoublesFromMinToMaxAndStays) {
    RetrySchedule r(2, 5);
    EXPECT_EQ(take(r, 6), (std::vector<std::chrono::nanoseconds>{4s, 8s, 16s, 32s, 32s, 32s}));
}

TEST(RetrySchedule, NegativeExponentsAreFractionsOfASecond) {
    RetrySchedule r(-2, 1);
    EXPECT_EQ(take(r, 5), (std::vector<std::chrono::nanoseconds>{250ms, 500ms, 1s, 2s, 2s}));
    RetrySchedule fast(-6, -6);
    EXPECT_EQ(fast.next(), 15'625'000ns);
}

TEST(RetrySchedule, ResetStartsOver) {
    RetrySchedule r(0, 10);
    take(r, 4);
    EXPECT_EQ(r.exponent(), 4);
    r.reset();
    EXPECT_EQ(take(r, 3), (std::vector<std::chrono::nanoseconds>{1s, 2s, 4s}));
}

TEST(RetrySchedule, MaxBelowMinMeansMin) {
    RetrySchedule r(6, 3);
    EXPECT_EQ(take(r, 3), (std::vector<std::chrono::nanoseconds>{64s, 64s, 64s}));
}

TEST(RetrySchedule, AllowLetsOneTryThroughPerInterval) {
    RetrySchedule r(1, 3);                 // 2 s, 4 s, 8 s
    const std::int64_t t0 = 1'000'000'000'000;
    EXPECT_TRUE(r.allow(t0));              // first: at once; the gate closes for 2 s
    EXPECT_FALSE(r.allow(t0));
    EXPECT_FALSE(r.allow(t0 + 1'999'999'999));
    EXPECT_TRUE(r.allow(t0 + 2'000'000'000));  // then for 4 s
    EXPECT_FALSE(r.allow(t0 + 5'999'999'999));
    EXPECT_TRUE(r.allow(t0 + 6'000'000'000));
    r.reset();                             // the wait starts over, the closed gate stays
    EXPECT_FALSE(r.allow(t0 + 6'000'000'001));
    EXPECT_TRUE(r.allow(t0 + 14'000'000'000));
    EXPECT_EQ(r.next(), 4s);               // allow() took the first 2 s
}
