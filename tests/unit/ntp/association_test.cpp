// libtime/ntp/association: the kiss codes in words, and the reach changes worth a message,
// also as a PollState goes through them.
#include "libtime/ntp/association.hpp"

#include <gtest/gtest.h>

using namespace timepipe::ntp;

TEST(Association, KissMeaning) {
    EXPECT_EQ(kiss_meaning(Kiss::Deny), "server refuses service");
    EXPECT_EQ(kiss_meaning(Kiss::Rstr), "server restricts access");
    EXPECT_EQ(kiss_meaning(Kiss::Rate), "server asks to slow down");
    EXPECT_EQ(kiss_meaning(Kiss::Other), "unknown code");
}

TEST(Association, ReachChangeTable) {
    using S = PollStatus;
    EXPECT_EQ(reach_change(S::Active, S::Active), ReachChange::None);
    EXPECT_EQ(reach_change(S::Active, S::Unreachable), ReachChange::Lost);
    EXPECT_EQ(reach_change(S::Unreachable, S::Unreachable), ReachChange::StillLost);
    EXPECT_EQ(reach_change(S::Unreachable, S::Active), ReachChange::Regained);
    EXPECT_EQ(reach_change(S::Unreachable, S::Demobilised), ReachChange::None);
    EXPECT_EQ(reach_change(S::Active, S::Demobilised), ReachChange::None);
}

TEST(Association, LostOnceAfterEightMissesThenRegainedByAReply) {
    PollConfig c;
    c.minpoll = c.maxpoll = 0;
    PollState poll(c, 0);
    std::int64_t now = 0;
    int lost = 0, still = 0, regained = 0;
    auto step = [&](bool answered) {
        const auto before = poll.status();
        poll.on_sent(now);
        if (answered) poll.on_reply(now + 1);
        else poll.on_timeout(now + 1);
        switch (reach_change(before, poll.status())) {
        case ReachChange::Lost: ++lost; break;
        case ReachChange::StillLost: ++still; break;
        case ReachChange::Regained: ++regained; break;
        case ReachChange::None: break;
        }
        now += 1'000'000'000;
    };
    step(true);
    for (int i = 0; i < 10; ++i) step(false);
    EXPECT_EQ(lost, 1);
    EXPECT_GE(still, 1);
    EXPECT_EQ(regained, 0);
    step(true);
    EXPECT_EQ(regained, 1);
    EXPECT_EQ(lost, 1);
}

namespace {
struct Fed {
    double offset;
    double delay;
};
// A polled source at minpoll 0 fed samples one second apart; returns its poll exponent after
// them.
int poll_after(std::initializer_list<Fed> samples) {
    PollConfig c;
    c.minpoll = 0;
    c.maxpoll = 6;
    PollState poll(c, 0);
    ClockFilter filter(1e-6);
    std::int64_t now = 0;
    for (const Fed& f : samples) {
        poll.on_sent(now);
        take_sample(filter, &poll, NtpSample{f.offset, f.delay, 0.0, now}, now + 1000);
        now += 1'000'000'000;
    }
    return poll.poll_exponent();
}
}  // namespace

TEST(Association, ConsistentSamplesLetThePollIntervalGrowAJumpKeepsItShort) {
    const int steady = poll_after({{0.001, 0.010}, {0.001, 0.009}, {0.001, 0.008}, {0.001, 0.007}, {0.001, 0.006},
                                   {0.001, 0.005}, {0.001, 0.004}, {0.001, 0.003}, {0.001, 0.002}});
    EXPECT_GT(steady, 0);
    // The same start, then offsets 1 s away (beyond 4 x the jitter of the estimate before).
    const int jumpy = poll_after({{0.001, 0.010}, {0.001, 0.009}, {0.001, 0.008}, {0.001, 0.007}, {0.001, 0.006},
                                  {1.0, 0.1}, {1.0, 0.1}, {1.0, 0.1}, {1.0, 0.1}});
    EXPECT_LT(jumpy, steady);
}

TEST(Association, WithoutAPollStateOnlyTheFilterLearns) {
    ClockFilter filter(1e-6);
    const double jitter = take_sample(filter, nullptr, NtpSample{0.5, 0.001, 0.0, 1}, 0);
    ASSERT_TRUE(filter.estimate().has_value());
    EXPECT_EQ(jitter, filter.estimate()->jitter);
    EXPECT_EQ(filter.estimate()->offset, 0.5);
}
