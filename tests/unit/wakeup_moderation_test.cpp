#include "libtime/wakeup_moderation.hpp"

#include <gtest/gtest.h>

using namespace timepipe;
using std::chrono::microseconds;

namespace {

constexpr std::int64_t kUs = 1'000;

TEST(WakeupModeration, QuietServerWaitsForTheNextDatagram) {
    WakeupModeration m(microseconds(100));
    EXPECT_FALSE(m.next_wait());  // nothing seen yet
    m.after_wakeup(1, 0, true);
    EXPECT_FALSE(m.next_wait());  // one request, no earlier wake-up to judge the rate by
    m.after_wakeup(1, 10'000 * kUs, true);
    EXPECT_FALSE(m.next_wait());  // one request 10 ms after the last: 100 requests/s
}

TEST(WakeupModeration, TwoRequestsInOneWakeupStartLingering) {
    WakeupModeration m(microseconds(100));
    m.after_wakeup(2, 0, true);
    ASSERT_TRUE(m.next_wait());
    EXPECT_EQ(*m.next_wait(), microseconds(100));
}

TEST(WakeupModeration, FrequentSingleRequestsStartLingering) {
    WakeupModeration m(microseconds(100));
    m.after_wakeup(1, 0, true);
    m.after_wakeup(1, 49 * kUs, true);  // under half a linger apart
    EXPECT_TRUE(m.next_wait());
}

TEST(WakeupModeration, SingleRequestsHalfALingerApartDoNot) {
    WakeupModeration m(microseconds(100));
    m.after_wakeup(1, 0, true);
    m.after_wakeup(1, 50 * kUs, true);
    EXPECT_FALSE(m.next_wait());
}

TEST(WakeupModeration, ALingerThatFindsFewerThanTwoEndsIt) {
    WakeupModeration m(microseconds(100));
    m.after_wakeup(5, 0, true);
    ASSERT_TRUE(m.next_wait());
    m.after_wakeup(3, 100 * kUs, true);  // the linger found three: keep going
    ASSERT_TRUE(m.next_wait());
    m.after_wakeup(1, 200 * kUs, true);  // found one: load dropped
    EXPECT_FALSE(m.next_wait());
    m.after_wakeup(4, 300 * kUs, true);
    ASSERT_TRUE(m.next_wait());
    m.after_wakeup(0, 400 * kUs, true);  // found none
    EXPECT_FALSE(m.next_wait());
}

TEST(WakeupModeration, NeverWhileBehind) {
    WakeupModeration m(microseconds(100));
    m.after_wakeup(10, 0, false);  // a socket still had datagrams: read on at once
    EXPECT_FALSE(m.next_wait());
    m.after_wakeup(WakeupModeration::kFull, 10 * kUs, true);  // a full batch: at the limit
    EXPECT_FALSE(m.next_wait());
    m.after_wakeup(WakeupModeration::kFull - 1, 20 * kUs, true);
    EXPECT_TRUE(m.next_wait());
}

TEST(WakeupModeration, ZeroLingerIsOff) {
    WakeupModeration m(microseconds(0));
    m.after_wakeup(20, 0, true);
    m.after_wakeup(20, 1 * kUs, true);
    EXPECT_FALSE(m.next_wait());
}

}  // namespace
