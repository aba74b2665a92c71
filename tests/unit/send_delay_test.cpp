#include "libtime/send_delay.hpp"

#include <gtest/gtest.h>

using namespace timepipe;

namespace {

TEST(SendDelay, NothingObservedMeansNoCorrection) {
    SendDelay d;
    EXPECT_EQ(d.before(0), 0);
    EXPECT_EQ(d.before(31), 0);
}

TEST(SendDelay, TheFirstCallSetsThePerDatagramCost) {
    SendDelay d;
    d.observe(32, 32'000);  // 32 datagrams in 32 µs
    EXPECT_EQ(d.per_datagram_ns(), 1'000);
    EXPECT_EQ(d.before(0), 0);  // the first leaves as the call starts working
    EXPECT_EQ(d.before(31), 31'000);
}

TEST(SendDelay, FollowsAChangeGradually) {
    SendDelay d;
    d.observe(10, 10'000);       // 1 µs each
    d.observe(10, 20'000);       // 2 µs each: moves an eighth of the way
    EXPECT_EQ(d.per_datagram_ns(), 1'125);
    for (int i = 0; i < 100; ++i) d.observe(10, 20'000);
    EXPECT_NEAR(static_cast<double>(d.per_datagram_ns()), 2'000.0, 8.0);
}

TEST(SendDelay, APreemptedCallIsClamped) {
    SendDelay d;
    d.observe(4, 4'000);
    d.observe(1, 5'000'000);  // 5 ms for one datagram: the thread was preempted
    EXPECT_EQ(d.per_datagram_ns(), 1'000 + (SendDelay::kMaxPerDatagramNs - 1'000) / 8);
}

TEST(SendDelay, EmptyOrNegativeObservationsAreIgnored) {
    SendDelay d;
    d.observe(0, 1'000);
    d.observe(3, -5);
    EXPECT_EQ(d.per_datagram_ns(), 0);
}

}  // namespace
