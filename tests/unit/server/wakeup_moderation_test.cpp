#include "libtime/server/wakeup_moderation.hpp"

#include <gtest/gtest.h>

using namespace timepipe;
using std::chrono::microseconds;

namespace {

constexpr std::int64_t kUs = 1'000;

Wakeup wake(std::size_t requests, std::int64_t mono_ns, bool drained, std::int64_t newest_age_ns = 0) {
    return Wakeup{.requests = requests, .mono_ns = mono_ns, .drained = drained, .newest_age_ns = newest_age_ns};
}

TEST(WakeupModeration, QuietServerWaitsForTheNextDatagram) {
    WakeupModeration m(microseconds(100));
    EXPECT_FALSE(m.next_wait());  // nothing seen yet
    m.after_wakeup(wake(1, 0, true));
    EXPECT_FALSE(m.next_wait());  // one request, no earlier wake-up to judge the rate by
    m.after_wakeup(wake(1, 10'000 * kUs, true));
    EXPECT_FALSE(m.next_wait());  // one request 10 ms after the last: 100 requests/s
}

TEST(WakeupModeration, TwoRequestsInOneWakeupStartLingering) {
    WakeupModeration m(microseconds(100));
    m.after_wakeup(wake(2, 0, true));
    ASSERT_TRUE(m.next_wait());
    EXPECT_EQ(*m.next_wait(), microseconds(100));
}

TEST(WakeupModeration, FrequentSingleRequestsStartLingering) {
    WakeupModeration m(microseconds(100));
    m.after_wakeup(wake(1, 0, true));
    m.after_wakeup(wake(1, 49 * kUs, true));  // under half a linger apart
    EXPECT_TRUE(m.next_wait());
}

TEST(WakeupModeration, SingleRequestsHalfALingerApartDoNot) {
    WakeupModeration m(microseconds(100));
    m.after_wakeup(wake(1, 0, true));
    m.after_wakeup(wake(1, 50 * kUs, true));
    EXPECT_FALSE(m.next_wait());
}

TEST(WakeupModeration, ALingerThatFindsFewerThanTwoEndsIt) {
    WakeupModeration m(microseconds(100));
    m.after_wakeup(wake(5, 0, true));
    ASSERT_TRUE(m.next_wait());
    m.after_wakeup(wake(3, 100 * kUs, true));  // the linger found three: keep going
    ASSERT_TRUE(m.next_wait());
    m.after_wakeup(wake(1, 200 * kUs, true));  // found one: load dropped
    EXPECT_FALSE(m.next_wait());
    m.after_wakeup(wake(4, 300 * kUs, true));
    ASSERT_TRUE(m.next_wait());
    m.after_wakeup(wake(0, 400 * kUs, true));  // found none
    EXPECT_FALSE(m.next_wait());
}

TEST(WakeupModeration, NeverWhileBehind) {
    WakeupModeration m(microseconds(100));
    m.after_wakeup(wake(10, 0, false));  // a socket still had datagrams: read on at once
    EXPECT_FALSE(m.next_wait());
    m.after_wakeup(wake(300, 10 * kUs, true));  // many, but all read: the rest may gather
    EXPECT_TRUE(m.next_wait());
}

TEST(WakeupModeration, ClientsThatWaitForTheirAnswersHoldLingeringOff) {
    // A closed loop: each linger's requests all arrived early (they answer our replies), the
    // second half is quiet. Three such lingers in a row stop lingering for 100 lingers' time.
    WakeupModeration m(microseconds(100));
    std::int64_t t = 0;
    m.after_wakeup(wake(8, t, true));
    for (int i = 0; i < WakeupModeration::kQuietLingers; ++i) {
        ASSERT_TRUE(m.next_wait()) << i;
        t += 100 * kUs;
        m.after_wakeup(wake(8, t, true, 70 * kUs));  // newest request 70 µs old at wake-up
    }
    EXPECT_FALSE(m.next_wait());
    t += 10 * kUs;
    m.after_wakeup(wake(8, t, true));  // a busy ppoll wake-up, still held off
    EXPECT_FALSE(m.next_wait());
    t += WakeupModeration::kHoldOffLingers * 100 * kUs;
    m.after_wakeup(wake(8, t, true));
    EXPECT_TRUE(m.next_wait());  // tried again
}

TEST(WakeupModeration, IndependentClientsKeepLingering) {
    // An open loop: requests keep arriving to the end of each linger, with the odd quiet one.
    WakeupModeration m(microseconds(100));
    std::int64_t t = 0;
    m.after_wakeup(wake(5, t, true));
    for (int i = 0; i < 1000; ++i) {
        ASSERT_TRUE(m.next_wait()) << i;
        t += 100 * kUs;
        std::int64_t age = (i % 10 == 0) ? 60 * kUs : 5 * kUs;  // one in ten quiet
        m.after_wakeup(wake(5, t, true, age));
    }
}

TEST(WakeupModeration, ZeroLingerIsOff) {
    WakeupModeration m(microseconds(0));
    m.after_wakeup(wake(20, 0, true));
    m.after_wakeup(wake(20, 1 * kUs, true));
    EXPECT_FALSE(m.next_wait());
}

}  // namespace
