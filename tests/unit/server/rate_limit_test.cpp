#include "libtime/server/rate_limit.hpp"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string>

#include "libtime/base/cidr.hpp"
#include "tests/unit/server/server_support.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;

namespace {

using timepipe::test::kSec;
using timepipe::test::test_seed;
using timepipe::test::v4;

std::array<std::byte, 16> key_from(std::uint64_t s) {
    std::array<std::byte, 16> k{};
    for (auto& b : k) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        b = std::byte(s >> 56);
    }
    return k;
}

std::array<std::byte, 16> v6(const char* s) { return parse_ip(s)->bytes(); }

RateLimitConfig cfg(double rate, std::uint32_t burst) {
    RateLimitConfig c;
    c.rate = rate;
    c.burst = burst;
    return c;
}

}  // namespace

TEST(RateLimitParse, GoodForms) {
    auto c = parse_rate_limit("2/16");
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->enabled);
    EXPECT_DOUBLE_EQ(c->rate, 2.0);
    EXPECT_EQ(c->burst, 16u);
    c = parse_rate_limit("0.125");
    ASSERT_TRUE(c);
    EXPECT_DOUBLE_EQ(c->rate, 0.125);
    EXPECT_EQ(c->burst, 8u);  // default burst is at least 8 ...
    c = parse_rate_limit("100");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->burst, 100u);  // ... and at least a second's worth
    c = parse_rate_limit("off");
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->enabled);
    RateLimitConfig base;
    base.table_size = 1024;
    base.v6_prefix = 56;
    c = parse_rate_limit("1/1", base);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->table_size, 1024u);
    EXPECT_EQ(c->v6_prefix, 56);
    EXPECT_TRUE(check_rate_limit_config(*c));
}

TEST(RateLimitParse, BadForms) {
    for (const char* s : {"", "/", "0", "0.0001", "-1", "+1", "1e3", "inf", "nan", "1..2", ".",
                          "2/0", "2/", "2/-1", "2/+3", "2/1.5", "2/2000000", "2/3/4", "OFF",
                          "1 ", " 1", "2000000", "1/abc"}) {
        EXPECT_FALSE(parse_rate_limit(s).has_value()) << '"' << s << '"';
    }
    auto r = parse_rate_limit("2/0");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "bad burst \"0\" (1 to 1000000)");
    EXPECT_EQ(r.error().exit_code, EX_USAGE);
    r = parse_rate_limit("fast");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "bad rate \"fast\"");
}

TEST(RateLimitParse, ConfigChecks) {
    RateLimitConfig c;
    EXPECT_TRUE(check_rate_limit_config(c));
    c.table_size = 1000;
    EXPECT_FALSE(check_rate_limit_config(c));
    c.table_size = 4;
    EXPECT_FALSE(check_rate_limit_config(c));
    c = {};
    c.v4_prefix = 33;
    auto r = check_rate_limit_config(c);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "bad prefix length 33");
    c = {};
    c.kod_shift = 40;
    EXPECT_FALSE(check_rate_limit_config(c));
}

TEST(RateLimiter, BurstThenSteadyRate) {
    auto key = key_from(1);
    RateLimiter rl(cfg(2.0, 5), key);  // 2/s, burst 5: one every 500 ms after the burst
    auto a = v4(0xC0000201);
    const std::int64_t t0 = 1000 * kSec;
    for (int i = 0; i < 5; ++i) EXPECT_EQ(rl.check(a, t0), RateDecision::Pass) << i;
    EXPECT_EQ(rl.check(a, t0), RateDecision::Kod);
    // Just before a token is back: still limited. At exactly 1/R: one more passes.
    EXPECT_NE(rl.check(a, t0 + kSec / 2 - 1), RateDecision::Pass);
    EXPECT_EQ(rl.check(a, t0 + kSec / 2), RateDecision::Pass);
    EXPECT_NE(rl.check(a, t0 + kSec / 2), RateDecision::Pass);
    // Steady 2/s is sustained forever.
    int passed = 0;
    for (int i = 2; i < 2 + 200; ++i) passed += rl.check(a, t0 + i * kSec / 2) == RateDecision::Pass;
    EXPECT_EQ(passed, 200);
    // Idle for burst/rate = 2.5 s: the full burst is back, and no more than that.
    const std::int64_t t1 = t0 + 201 * kSec / 2 + 5 * kSec / 2;
    for (int i = 0; i < 5; ++i) EXPECT_EQ(rl.check(a, t1), RateDecision::Pass) << i;
    EXPECT_EQ(rl.check(a, t1), RateDecision::Kod);
}

TEST(RateLimiter, PartialRefill) {
    auto key = key_from(2);
    RateLimiter rl(cfg(1.0, 10), key);
    auto a = v4(0x0A000001);
    std::int64_t t = 5 * kSec;
    for (int i = 0; i < 10; ++i) ASSERT_EQ(rl.check(a, t), RateDecision::Pass);
    ASSERT_NE(rl.check(a, t), RateDecision::Pass);
    t += 3 * kSec + kSec / 2;  // 3.5 tokens back: 3 pass
    int passed = 0;
    for (int i = 0; i < 10; ++i) passed += rl.check(a, t) == RateDecision::Pass;
    EXPECT_EQ(passed, 3);
}

TEST(RateLimiter, FloodGetsKodThenMostlyDropsWhileOthersPass) {
    auto key = key_from(3);
    RateLimitConfig c = cfg(1.0, 4);
    c.kod_shift = 3;
    RateLimiter rl(c, key);
    auto flood = v4(0xCB007101), other = v4(0xCB007201);
    std::int64_t t = 0;
    int pass = 0, kod = 0, drop = 0;
    // 10,000 requests per second from one address for 10 s.
    for (int i = 0; i < 100000; ++i, t += kSec / 10000) {
        switch (rl.check(flood, t)) {
            case RateDecision::Pass: ++pass; break;
            case RateDecision::Kod: ++kod; break;
            case RateDecision::Drop: ++drop; break;
        }
        if (i == 3) {  // right after the burst of 4
            EXPECT_EQ(rl.check(flood, t), RateDecision::Kod) << "first excess is kissed";
        }
        if (i % 10000 == 0) {
            EXPECT_EQ(rl.check(other, t), RateDecision::Pass) << i;
        }
    }
    // Burst of 4 plus 1/s, ~10 s.
    EXPECT_GE(pass, 4 + 9);
    EXPECT_LE(pass, 4 + 11);
    // KoDs: at most one in 8 of the limited requests (+1 for the first), never more.
    const int limited = kod + drop + 1;
    EXPECT_LE(kod + 1, limited / 8 + 2);
    EXPECT_GE(kod, limited / 8 - 2);
    EXPECT_GT(drop, 80000);
    EXPECT_EQ(rl.stats().kod, static_cast<std::uint64_t>(kod + 1));
    EXPECT_EQ(rl.stats().passed, static_cast<std::uint64_t>(pass + 10));
    EXPECT_EQ(rl.stats().dropped, static_cast<std::uint64_t>(drop));
}

TEST(RateLimiter, KodAgainAfterTheClientCalmsDown) {
    auto key = key_from(4);
    RateLimitConfig c = cfg(1.0, 2);
    c.kod_shift = 2;
    RateLimiter rl(c, key);
    auto a = v4(0x01020304);
    EXPECT_EQ(rl.check(a, 0), RateDecision::Pass);
    EXPECT_EQ(rl.check(a, 0), RateDecision::Pass);
    EXPECT_EQ(rl.check(a, 0), RateDecision::Kod);
    EXPECT_EQ(rl.check(a, 0), RateDecision::Drop);
    EXPECT_EQ(rl.check(a, 0), RateDecision::Drop);
    EXPECT_EQ(rl.check(a, 0), RateDecision::Drop);
    EXPECT_EQ(rl.check(a, 0), RateDecision::Kod);  // 1 in 4
    // Quiet long enough to refill fully: a new episode starts with a KoD again.
    EXPECT_EQ(rl.check(a, 10 * kSec), RateDecision::Pass);
    EXPECT_EQ(rl.check(a, 10 * kSec), RateDecision::Pass);
    EXPECT_EQ(rl.check(a, 10 * kSec), RateDecision::Kod);
}

TEST(RateLimiter, KeysByPrefix) {
    auto key = key_from(5);
    RateLimiter rl(cfg(1.0, 1), key);
    // Two hosts of one IPv6 /64 share a bucket; another /64 has its own.
    EXPECT_EQ(rl.check(v6("2001:db8:1:2::1"), 0), RateDecision::Pass);
    EXPECT_NE(rl.check(v6("2001:db8:1:2:ffff::9"), 0), RateDecision::Pass);
    EXPECT_EQ(rl.check(v6("2001:db8:1:3::1"), 0), RateDecision::Pass);
    // IPv4 is per address by default, and ::ffff:a.b.c.d is the same client as a.b.c.d.
    EXPECT_EQ(rl.check(v4(0xC0000201), 0), RateDecision::Pass);
    EXPECT_EQ(rl.check(v4(0xC0000202), 0), RateDecision::Pass);
    EXPECT_NE(rl.check(v6("::ffff:192.0.2.1"), 0), RateDecision::Pass);

    RateLimitConfig c = cfg(1.0, 1);
    c.v4_prefix = 24;
    RateLimiter by24(c, key);
    EXPECT_EQ(by24.check(v4(0xC0000201), 0), RateDecision::Pass);
    EXPECT_NE(by24.check(v4(0xC00002FE), 0), RateDecision::Pass);
    EXPECT_EQ(by24.check(v4(0xC0000301), 0), RateDecision::Pass);
}

TEST(RateLimiter, OffPassesEverythingAndAllocatesNothing) {
    auto key = key_from(6);
    RateLimitConfig c = *parse_rate_limit("off");
    RateLimiter rl(c, key);
    EXPECT_EQ(rl.capacity(), 0u);
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(rl.check(v4(1), 0), RateDecision::Pass);
    EXPECT_EQ(rl.stats().passed, 1000u);
}

TEST(RateLimiter, BadAddressSizeIsDropped) {
    auto key = key_from(7);
    RateLimiter rl(RateLimitConfig{}, key);
    std::array<std::byte, 6> junk{};
    EXPECT_EQ(rl.check(junk, 0), RateDecision::Drop);
    EXPECT_EQ(rl.check(std::span<const std::byte>(), 0), RateDecision::Drop);
    EXPECT_EQ(rl.stats().bad_address, 2u);
}

TEST(RateLimiter, TimeGoingBackwardsGrantsNothing) {
    auto key = key_from(8);
    RateLimiter rl(cfg(1.0, 1), key);
    auto a = v4(0x0A0A0A0A);
    EXPECT_EQ(rl.check(a, 100 * kSec), RateDecision::Pass);
    EXPECT_NE(rl.check(a, 100 * kSec), RateDecision::Pass);
    EXPECT_NE(rl.check(a, 0), RateDecision::Pass);
    EXPECT_NE(rl.check(a, -50 * kSec), RateDecision::Pass);
    EXPECT_EQ(rl.check(a, 101 * kSec), RateDecision::Pass);
}

TEST(RateLimiter, BoundedMemoryUnderAMillionAddresses) {
    auto key = key_from(9);
    RateLimitConfig c = cfg(1.0, 2);
    c.table_size = 4096;
    RateLimiter rl(c, key);
    const std::size_t cap = rl.capacity(), bytes = rl.memory_bytes();
    EXPECT_EQ(cap, 4096u);
    EXPECT_LE(bytes, 4096u * 32u);
    std::int64_t t = 0;
    for (std::uint32_t i = 0; i < 1'000'000; ++i, t += 1000) {
        // Half IPv4, half IPv6 (distinct /64s).
        if (i & 1) {
            ASSERT_EQ(rl.check(v4(0x0A000000u + i), t), RateDecision::Pass);
        } else {
            std::array<std::byte, 16> a = v6("2001:db8::");
            a[4] = std::byte(i >> 16);
            a[5] = std::byte(i >> 8);
            a[6] = std::byte(i);
            ASSERT_EQ(rl.check(a, t), RateDecision::Pass);
        }
    }
    EXPECT_EQ(rl.capacity(), cap);
    EXPECT_EQ(rl.memory_bytes(), bytes);
    EXPECT_EQ(rl.clients(), cap);  // full, and never more
    EXPECT_EQ(rl.stats().new_clients, 1'000'000u);
    EXPECT_EQ(rl.stats().evictions, 1'000'000u - cap);
}

TEST(RateLimiter, EvictsLeastRecentlySeen) {
    auto key = key_from(10);
    RateLimitConfig c = cfg(1.0, 1);
    c.table_size = RateLimiter::kWays;  // one set: eviction order is fully visible
    RateLimiter rl(c, key);
    // Fill the set, each client exhausting its single token.
    for (std::uint32_t i = 0; i < RateLimiter::kWays; ++i)
        ASSERT_EQ(rl.check(v4(100 + i), static_cast<std::int64_t>(i)), RateDecision::Pass);
    // Client 100 is seen again (limited, but recently seen now).
    EXPECT_NE(rl.check(v4(100), 10), RateDecision::Pass);
    // A newcomer evicts the least recently seen: client 101, not 100.
    EXPECT_EQ(rl.check(v4(999), 11), RateDecision::Pass);
    EXPECT_EQ(rl.stats().evictions, 1u);
    EXPECT_NE(rl.check(v4(100), 12), RateDecision::Pass) << "100 was remembered";
    EXPECT_EQ(rl.check(v4(101), 13), RateDecision::Pass) << "101 was forgotten: fresh burst";
    EXPECT_EQ(rl.clients(), RateLimiter::kWays);
}

TEST(RateLimiter, KeyChangesTheLayoutNotTheDecisions) {
    // The same traffic under two keys gives the same decisions when nothing is evicted.
    auto k1 = key_from(11), k2 = key_from(12);
    RateLimiter a(cfg(3.0, 3), k1), b(cfg(3.0, 3), k2);
    std::mt19937_64 rng(test_seed("RateLimiter.KeyChangesTheLayoutNotTheDecisions"));
    std::int64_t t = 0;
    for (int i = 0; i < 20000; ++i) {
        t += static_cast<std::int64_t>(rng() % (kSec / 10));
        auto addr = v4(0xC6336400u + static_cast<std::uint32_t>(rng() % 50));
        ASSERT_EQ(a.check(addr, t), b.check(addr, t)) << i;
    }
    EXPECT_EQ(a.stats().evictions, 0u);
}

// Property: against a reference floating-point token bucket, for random rates, bursts and
// arrival times, the number passed agrees (the reference allows for rounding of 1/R to 1 ns).
TEST(RateLimiter, RandomizedMatchesTokenBucket) {
    const std::uint64_t seed = test_seed("RateLimiter.RandomizedMatchesTokenBucket");
    std::mt19937_64 rng(seed);
    auto key = key_from(seed);
    for (int round = 0; round < 200; ++round) {
        const double rate = 0.01 + static_cast<double>(rng() % 10000) / 100.0;
        const auto burst = static_cast<std::uint32_t>(1 + rng() % 50);
        RateLimiter rl(cfg(rate, burst), key);
        auto addr = v4(static_cast<std::uint32_t>(rng()));
        double tokens = burst;
        std::int64_t t = static_cast<std::int64_t>(rng() % (1000 * kSec)), last = t;
        const std::int64_t interval = std::llround(1e9 / rate);
        for (int i = 0; i < 500; ++i) {
            t += static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(2 * interval / burst + 1));
            tokens = std::min<double>(burst, tokens + static_cast<double>(t - last) / static_cast<double>(interval));
            last = t;
            const bool ref_pass = tokens >= 1.0 - 1e-9;
            const bool pass = rl.check(addr, t) == RateDecision::Pass;
            ASSERT_EQ(pass, ref_pass) << "rate " << rate << " burst " << burst << " step " << i
                                      << " tokens " << tokens;
            if (pass) tokens -= 1.0;
        }
    }
}
