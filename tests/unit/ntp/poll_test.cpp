// Poll management (RFC 5905 §13): iburst timing, reach register, poll adjustment, KoD.
#include "libtime/ntp/poll.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tests/unit/test_support.hpp"

namespace timepipe::ntp {
namespace {

using timepipe::test::kSec;
using timepipe::test::test_seed;

constexpr MonoNanos kStart = 1000 * kSec;

MonoNanos pow2_seconds(int e) { return e >= 0 ? kSec << e : kSec >> -e; }

// Send at the scheduled time and get a reply 10 ms later; returns the send time.
MonoNanos poll_and_reply(PollState& p, bool consistent = true) {
    const MonoNanos at = *p.next_poll_at();
    p.on_sent(at);
    EXPECT_TRUE(p.on_reply(at + kSec / 100, consistent));
    return at;
}

MonoNanos poll_and_lose(PollState& p) {
    const MonoNanos at = *p.next_poll_at();
    p.on_sent(at);
    p.on_timeout(at + kSec);
    return at;
}

TEST(NtpPoll, CheckRejectsOutOfRangeExponents) {
    EXPECT_EQ(check(PollConfig{}), "");
    EXPECT_EQ(check(PollConfig{.minpoll = -6, .maxpoll = -6}), "");
    EXPECT_NE(check(PollConfig{.minpoll = -7}), "");
    EXPECT_NE(check(PollConfig{.minpoll = 6, .maxpoll = 5}), "");
    EXPECT_NE(check(PollConfig{.maxpoll = 18}), "");
    EXPECT_NE(check(PollConfig{.iburst = true, .burst_spacing = 0}), "");
}

TEST(NtpPoll, DefaultsAreRfcValues) {
    PollState p(PollConfig{}, kStart);
    EXPECT_EQ(p.poll_exponent(), 6);
    EXPECT_EQ(p.reach(), 0);
    EXPECT_EQ(p.next_poll_at(), kStart);
    EXPECT_FALSE(p.in_burst());
    p.on_sent(kStart);
    EXPECT_EQ(p.next_poll_at(), kStart + 64 * kSec);
}

TEST(NtpPoll, IburstSendsBurstThenPollInterval) {
    PollState p(PollConfig{.minpoll = 6, .iburst = true, .burst_count = 4,
                           .burst_spacing = 2 * kSec},
                kStart);
    EXPECT_TRUE(p.in_burst());
    std::vector<MonoNanos> sends;
    for (int i = 0; i < 6; ++i) sends.push_back(poll_and_reply(p) - kStart);
    const std::vector<MonoNanos> want{0, 2 * kSec, 4 * kSec, 6 * kSec, 70 * kSec, 134 * kSec};
    EXPECT_EQ(sends, want);
    EXPECT_FALSE(p.in_burst());
    EXPECT_EQ(p.poll_exponent(), 6);  // burst replies do not raise the poll
}

TEST(NtpPoll, IburstSpacingIsAParameter) {
    PollState p(PollConfig{.minpoll = -2, .iburst = true, .burst_count = 3,
                           .burst_spacing = kSec / 10},
                0);
    EXPECT_EQ(poll_and_reply(p), 0);
    EXPECT_EQ(poll_and_reply(p), kSec / 10);
    EXPECT_EQ(poll_and_reply(p), 2 * kSec / 10);
    EXPECT_EQ(poll_and_reply(p), 2 * kSec / 10 + kSec / 4);  // 2^-2 s
}

TEST(NtpPoll, ReachRegisterShiftsOnSendAndSetsOnReply) {
    PollState p(PollConfig{.minpoll = -2, .maxpoll = -2}, 0);
    std::vector<int> seen;
    for (int i = 0; i < 4; ++i) {
        poll_and_reply(p);
        seen.push_back(p.reach());
    }
    poll_and_lose(p);
    seen.push_back(p.reach());
    poll_and_reply(p);
    seen.push_back(p.reach());
    const std::vector<int> want{01, 03, 07, 017, 036, 075};
    EXPECT_EQ(seen, want);
    // A reply with nothing outstanding (duplicate, or after the timeout) changes nothing.
    EXPECT_FALSE(p.on_reply(kSec * 100));
    EXPECT_EQ(p.reach(), 075);
}

TEST(NtpPoll, UnansweredSendCountsAsLostWithoutExplicitTimeout) {
    PollState p(PollConfig{.minpoll = 0, .maxpoll = 0}, 0);
    p.on_sent(0);
    p.on_sent(kSec);  // no reply to the first, no on_timeout either
    EXPECT_EQ(p.consecutive_misses(), 1);
    EXPECT_TRUE(p.on_reply(kSec + 1));
    EXPECT_EQ(p.reach(), 01);
    EXPECT_EQ(p.consecutive_misses(), 0);
}

TEST(NtpPoll, UnreachableAfterNMissesThenBacksOff) {
    PollState p(PollConfig{.minpoll = 2, .maxpoll = 4, .unreachable_after = 8}, 0);
    for (int i = 0; i < 8; ++i) poll_and_reply(p);
    EXPECT_EQ(p.reach(), 0377);
    const int poll = p.poll_exponent();
    for (int i = 0; i < 7; ++i) poll_and_lose(p);
    EXPECT_EQ(p.status(), PollStatus::Active);
    EXPECT_EQ(p.reach(), 0200);
    poll_and_lose(p);
    EXPECT_EQ(p.status(), PollStatus::Unreachable);
    EXPECT_EQ(p.reach(), 0);
    EXPECT_LE(p.poll_exponent(), poll);  // losses while reachable lowered it
    const int at_unreachable = p.poll_exponent();
    poll_and_lose(p);
    EXPECT_EQ(p.poll_exponent(), std::min(at_unreachable + 1, 4));
    for (int i = 0; i < 5; ++i) poll_and_lose(p);
    EXPECT_EQ(p.poll_exponent(), 4);  // backoff stops at maxpoll
    poll_and_reply(p);
    EXPECT_EQ(p.status(), PollStatus::Active);
    EXPECT_EQ(p.reach(), 01);
}

TEST(NtpPoll, UnreachableRearmsIburst) {
    PollState p(PollConfig{.minpoll = 0, .maxpoll = 3, .iburst = true, .burst_count = 2,
                           .burst_spacing = kSec / 2, .unreachable_after = 3},
                0);
    poll_and_reply(p);
    poll_and_reply(p);
    EXPECT_FALSE(p.in_burst());
    for (int i = 0; i < 3; ++i) poll_and_lose(p);
    EXPECT_EQ(p.status(), PollStatus::Unreachable);
    EXPECT_TRUE(p.in_burst());
    const MonoNanos first = poll_and_lose(p);
    EXPECT_EQ(*p.next_poll_at() - first, kSec / 2);
}

TEST(NtpPoll, ConsistentRepliesRaisePollUpToMaxpoll) {
    PollState p(PollConfig{.minpoll = 0, .maxpoll = 3, .increase_after = 4}, 0);
    for (int i = 0; i < 3; ++i) poll_and_reply(p);
    EXPECT_EQ(p.poll_exponent(), 0);
    poll_and_reply(p);
    EXPECT_EQ(p.poll_exponent(), 1);
    // The new exponent takes effect from the next request.
    const MonoNanos at = poll_and_reply(p);
    EXPECT_EQ(*p.next_poll_at() - at, 2 * kSec);
    for (int i = 0; i < 20; ++i) poll_and_reply(p);
    EXPECT_EQ(p.poll_exponent(), 3);
}

TEST(NtpPoll, NoisyRepliesLowerPollDownToMinpoll) {
    PollState p(PollConfig{.minpoll = 1, .maxpoll = 5, .increase_after = 1, .decrease_after = 4},
                0);
    for (int i = 0; i < 4; ++i) poll_and_reply(p);
    EXPECT_EQ(p.poll_exponent(), 5);
    poll_and_reply(p, false);
    EXPECT_EQ(p.poll_exponent(), 5);
    poll_and_reply(p, false);
    EXPECT_EQ(p.poll_exponent(), 4);
    for (int i = 0; i < 20; ++i) poll_and_reply(p, false);
    EXPECT_EQ(p.poll_exponent(), 1);
}

TEST(NtpPoll, PollGate) {
    EXPECT_TRUE(within_poll_gate(0.0, 0.0));
    EXPECT_TRUE(within_poll_gate(-0.004, 0.001));
    EXPECT_FALSE(within_poll_gate(0.0041, 0.001));
}

TEST(NtpPoll, RateDoublesIntervalBoundedByMaxpoll) {
    PollState p(PollConfig{.minpoll = 4, .maxpoll = 6, .iburst = true}, 0);
    MonoNanos now = *p.next_poll_at();
    p.on_sent(now);
    p.on_kod("RATE", now + 1, 0);
    EXPECT_FALSE(p.in_burst());  // RATE ends a burst
    EXPECT_EQ(p.poll_exponent(), 5);
    EXPECT_EQ(p.next_poll_at(), now + 1 + 32 * kSec);
    EXPECT_EQ(p.reach(), 0);  // a KoD is no valid reply
    now = *p.next_poll_at();
    p.on_sent(now);
    p.on_kod("RATE", now, 0);
    EXPECT_EQ(p.poll_exponent(), 6);
    p.on_sent(now);
    p.on_kod("RATE", now, 0);
    EXPECT_EQ(p.poll_exponent(), 6);
    EXPECT_EQ(p.next_poll_at(), now + 64 * kSec);
    EXPECT_EQ(p.status(), PollStatus::Active);
}

TEST(NtpPoll, RateNeverBelowServerPoll) {
    PollState p(PollConfig{.minpoll = 2, .maxpoll = 10, .decrease_after = 2}, 0);
    p.on_sent(0);
    p.on_kod("RATE", 0, 8);
    EXPECT_EQ(p.poll_exponent(), 8);
    for (int i = 0; i < 10; ++i) poll_and_reply(p, false);
    EXPECT_EQ(p.poll_exponent(), 8);  // noisy replies may not undercut the server's request
    // A server asking for more than maxpoll is obeyed (up to RFC MAXPOLL 17).
    p.on_sent(*p.next_poll_at());
    p.on_kod("RATE", 0, 12);
    EXPECT_EQ(p.poll_exponent(), 12);
    p.on_sent(*p.next_poll_at());
    p.on_kod("RATE", 0, 99);
    EXPECT_EQ(p.poll_exponent(), 17);
}

TEST(NtpPoll, DenyAndRstrDemobilise) {
    for (const char* code : {"DENY", "RSTR"}) {
        PollState p(PollConfig{.iburst = true}, 0);
        poll_and_reply(p);
        p.on_sent(*p.next_poll_at());
        p.on_kod(code, 5 * kSec, 6);
        EXPECT_EQ(p.status(), PollStatus::Demobilised) << code;
        EXPECT_EQ(p.kiss_code(), code);
        EXPECT_FALSE(p.next_poll_at().has_value());
        p.on_sent(10 * kSec);
        EXPECT_FALSE(p.on_reply(10 * kSec));
        p.on_kod("RATE", 10 * kSec, 3);
        EXPECT_EQ(p.status(), PollStatus::Demobilised);
        EXPECT_EQ(p.kiss_code(), code);
    }
}

TEST(NtpPoll, UnknownKissCodeIsIgnored) {
    PollState p(PollConfig{}, 0);
    p.on_sent(0);
    p.on_kod("XFOO", 1, 12);
    EXPECT_EQ(p.status(), PollStatus::Active);
    EXPECT_EQ(p.poll_exponent(), 6);
    EXPECT_EQ(p.kiss_code(), "");
    EXPECT_TRUE(p.on_reply(2));  // still waiting for a real answer
}

TEST(NtpPoll, RandomStretchesIntervalButNeverShortensIt) {
    PollState high(PollConfig{.minpoll = 4, .jitter_fraction = 0.5}, 0, [] { return 0xFFFFFFFFu; });
    high.on_sent(0);
    const MonoNanos base = 16 * kSec;
    EXPECT_GT(*high.next_poll_at(), base + base / 2 - kSec / 1000);
    EXPECT_LT(*high.next_poll_at(), base + base / 2);
    PollState low(PollConfig{.minpoll = 4, .jitter_fraction = 0.5}, 0, [] { return 0u; });
    low.on_sent(0);
    EXPECT_EQ(*low.next_poll_at(), base);
    // Burst spacing is exact.
    PollState burst(PollConfig{.iburst = true, .burst_spacing = kSec}, 0, [] { return 0xFFFFFFFFu; });
    burst.on_sent(0);
    EXPECT_EQ(*burst.next_poll_at(), kSec);
}

// Random event sequences against a shadow model of the reach register and the bounds.
TEST(NtpPoll, RandomEventsKeepInvariants) {
    const std::uint64_t seed = test_seed("NtpPoll.RandomEventsKeepInvariants");
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 200; ++round) {
        SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed) + " round " + std::to_string(round));
        const int minpoll = std::uniform_int_distribution<int>(-6, 8)(rng);
        const int maxpoll = std::uniform_int_distribution<int>(minpoll, 12)(rng);
        PollConfig cfg{.minpoll = minpoll, .maxpoll = maxpoll, .iburst = (rng() & 1) != 0,
                       .burst_count = 4, .burst_spacing = kSec / 4, .jitter_fraction = 0.25};
        ASSERT_EQ(check(cfg), "");
        std::mt19937 jitter_rng(static_cast<std::uint32_t>(rng()));
        PollState p(cfg, 0, [&] { return static_cast<std::uint32_t>(jitter_rng()); });
        unsigned shadow = 0;
        int server_floor = minpoll;
        MonoNanos now = 0;
        for (int step = 0; step < 300; ++step) {
            const MonoNanos at = *p.next_poll_at();
            ASSERT_GE(at, now);
            now = at;
            const bool burst = p.in_burst();
            p.on_sent(now);
            shadow = (shadow << 1) & 0xFF;
            const MonoNanos gap = *p.next_poll_at() - now;
            if (burst && p.in_burst()) {
                ASSERT_EQ(gap, kSec / 4);
            } else {
                const MonoNanos base = pow2_seconds(p.poll_exponent());
                ASSERT_GE(gap, base);
                ASSERT_LE(gap, base + base / 4);
            }
            const int event = std::uniform_int_distribution<int>(0, 19)(rng);
            if (event < 12) {
                ASSERT_TRUE(p.on_reply(now + 1, event < 9));
                shadow |= 1;
            } else if (event < 19) {
                p.on_timeout(now + 1);
            } else {
                const int sp = std::uniform_int_distribution<int>(-6, 14)(rng);
                p.on_kod("RATE", now + 1, sp);
                server_floor = std::max(server_floor, sp);
            }
            ASSERT_EQ(p.reach(), shadow);
            ASSERT_GE(p.poll_exponent(), server_floor);
            ASSERT_LE(p.poll_exponent(), std::max(maxpoll, server_floor));
            ASSERT_NE(p.status(), PollStatus::Demobilised);
        }
    }
}

}  // namespace
}  // namespace timepipe::ntp
