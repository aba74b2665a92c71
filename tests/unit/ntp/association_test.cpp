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
