#include "libtime/server/send_delay.hpp"

#include <gtest/gtest.h>

using namespace timepipe;

namespace {

TEST(SendDelay, NothingObservedMeansNoCorrection) {
    SendDelay d;
    EXPECT_EQ(d.until_departure(0, 0, 32), 0);
    EXPECT_EQ(d.until_departure(5, 31, 32), 0);
}

TEST(SendDelay, SameSizedSendsGiveTheMeanPerDatagram) {
    SendDelay d;
    for (int i = 0; i < 10; ++i) d.observe_send(32, 32'000);  // 32 datagrams in 32 µs, always
    EXPECT_EQ(d.per_datagram_ns(), 1'000);
    EXPECT_EQ(d.per_call_ns(), 0);                     // cannot be told apart: in the mean
    EXPECT_EQ(d.until_departure(31, 0, 32), 0);       // built last, sent first
    EXPECT_EQ(d.until_departure(31, 31, 32), 31'000);  // built last, sent last
}

TEST(SendDelay, VaryingSizesSeparateThePerCallCost) {
    // Every call costs 5 µs (entering the kernel, waking the receiver) plus 1 µs a datagram:
    // the mean per datagram would be 6 µs for one-datagram sends; the slope is 1 µs.
    SendDelay d;
    for (int round = 0; round < 200; ++round)
        for (std::size_t n : {1, 4, 8, 16, 32}) d.observe_send(n, 5'000 + 1'000 * static_cast<std::int64_t>(n));
    EXPECT_NEAR(static_cast<double>(d.per_datagram_ns()), 1'000.0, 20.0);
    EXPECT_NEAR(static_cast<double>(d.per_call_ns()), 5'000.0, 100.0);
    // The first datagram leaves at once; the second after the first's one-time work.
    EXPECT_EQ(d.until_departure(0, 0, 1), 0);
    EXPECT_NEAR(static_cast<double>(d.until_departure(1, 1, 2)), 6'000.0, 120.0);
    EXPECT_NEAR(static_cast<double>(d.until_departure(3, 3, 4)), 8'000.0, 160.0);
}

TEST(SendDelay, RepliesStillToBuildCount) {
    SendDelay d;
    d.observe_build(10, 1'000);  // 100 ns a reply
    EXPECT_EQ(d.per_reply_ns(), 100);
    EXPECT_EQ(d.until_departure(0, 0, 10), 900);  // nine more are built before the send
    EXPECT_EQ(d.until_departure(9, 0, 10), 0);
}

TEST(SendDelay, FollowsAChangeGradually) {
    SendDelay d;
    d.observe_send(10, 10'000);  // 1 µs each
    d.observe_send(10, 20'000);  // 2 µs each: moves a sixteenth of the way
    EXPECT_NEAR(static_cast<double>(d.per_datagram_ns()), 1'062.0, 1.0);
    for (int i = 0; i < 200; ++i) d.observe_send(10, 20'000);
    EXPECT_NEAR(static_cast<double>(d.per_datagram_ns()), 2'000.0, 5.0);
}

TEST(SendDelay, APreemptedCallIsClamped) {
    SendDelay d;
    d.observe_send(4, 4'000);
    d.observe_send(4, 4'000'000'000);  // 4 s: the thread was preempted
    EXPECT_LE(d.per_datagram_ns(), SendDelay::kMaxPerDatagramNs);
    d.observe_build(1, 1'000'000'000);
    EXPECT_LE(d.per_reply_ns(), SendDelay::kMaxPerDatagramNs);
}

TEST(SendDelay, EmptyOrNegativeObservationsAreIgnored) {
    SendDelay d;
    d.observe_send(0, 1'000);
    d.observe_send(3, -5);
    d.observe_build(0, 1'000);
    d.observe_build(3, -5);
    EXPECT_EQ(d.per_datagram_ns(), 0);
    EXPECT_EQ(d.per_reply_ns(), 0);
}

}  // namespace
