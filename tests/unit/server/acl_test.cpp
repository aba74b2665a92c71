#include "libtime/server/acl.hpp"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/test_support.hpp"

using namespace timepipe;

namespace {

using timepipe::test::test_seed;

IpAddress ip(const char* s) { return *parse_ip(s); }

Acl make(std::vector<std::string> rules, Verdict dflt = Verdict::Allow) {
    auto acl = Acl::from_rules(rules, dflt);
    EXPECT_TRUE(acl.has_value()) << (acl ? "" : acl.error().what);
    return acl ? *acl : Acl(dflt);
}

}  // namespace

TEST(Acl, DefaultAllowsAll) {
    Acl acl;
    EXPECT_EQ(acl.default_verdict(), Verdict::Allow);
    EXPECT_EQ(acl.check(ip("192.0.2.1")), Verdict::Allow);
    EXPECT_EQ(acl.check(ip("2001:db8::1")), Verdict::Allow);
    Acl deny(Verdict::Deny);
    EXPECT_EQ(deny.check(ip("192.0.2.1")), Verdict::Deny);
}

TEST(Acl, MostSpecificPrefixWins) {
    // Order of the options does not matter, only specificity (as chrony's allow/deny).
    for (bool reversed : {false, true}) {
        std::vector<std::string> rules = {"deny all", "allow 192.0.2.0/24", "deny 192.0.2.128/25",
                                          "allow 192.0.2.200", "allow 2001:db8::/32",
                                          "deny 2001:db8:bad::/48"};
        if (reversed) std::reverse(rules.begin(), rules.end());
        Acl acl = make(rules);
        EXPECT_EQ(acl.check(ip("198.51.100.1")), Verdict::Deny);
        EXPECT_EQ(acl.check(ip("192.0.2.1")), Verdict::Allow);
        EXPECT_EQ(acl.check(ip("192.0.2.129")), Verdict::Deny);
        EXPECT_EQ(acl.check(ip("192.0.2.200")), Verdict::Allow);
        EXPECT_EQ(acl.check(ip("2001:db8::1")), Verdict::Allow);
        EXPECT_EQ(acl.check(ip("2001:db8:bad::1")), Verdict::Deny);
        EXPECT_EQ(acl.check(ip("2001:db9::1")), Verdict::Deny);
        EXPECT_EQ(acl.rules().size(), 7u);  // "all" is two rules
        for (std::size_t i = 1; i < acl.rules().size(); ++i)
            EXPECT_GE(acl.rules()[i - 1].cidr.prefix_len(), acl.rules()[i].cidr.prefix_len());
    }
}

TEST(Acl, SamePrefixLastWordWins) {
    Acl acl = make({"allow 10.0.0.0/8", "deny 10.0.0.0/8"});
    EXPECT_EQ(acl.rules().size(), 1u);
    EXPECT_EQ(acl.check(ip("10.1.2.3")), Verdict::Deny);
    acl = make({"deny 10.0.0.0/8", "allow 10.9.9.9/8"});  // same network once masked
    EXPECT_EQ(acl.check(ip("10.1.2.3")), Verdict::Allow);
}

TEST(Acl, MappedPeersFollowIpv4Rules) {
    Acl acl = make({"deny 192.0.2.0/24", "allow ::/0"}, Verdict::Allow);
    auto mapped = ip("::ffff:192.0.2.9").bytes();
    EXPECT_EQ(acl.check(std::span<const std::byte>(mapped)), Verdict::Deny);
    std::array<std::byte, 4> raw{std::byte{192}, std::byte{0}, std::byte{2}, std::byte{9}};
    EXPECT_EQ(acl.check(std::span<const std::byte>(raw)), Verdict::Deny);
    // ::/0 covers IPv6 only, so the IPv4 default applies to other IPv4 peers.
    Acl v6only = make({"allow ::/0"}, Verdict::Deny);
    EXPECT_EQ(v6only.check(ip("2001:db8::1")), Verdict::Allow);
    EXPECT_EQ(v6only.check(ip("::ffff:198.51.100.1")), Verdict::Deny);
    // A bad-sized address is denied whatever the rules say.
    std::array<std::byte, 3> junk{};
    EXPECT_EQ(Acl().check(std::span<const std::byte>(junk)), Verdict::Deny);
}

TEST(Acl, RuleErrorsNameTheRule) {
    std::vector<std::string> rules = {"allow 10.0.0.0/8", "deny 10.0.0.0/33"};
    auto acl = Acl::from_rules(rules);
    ASSERT_FALSE(acl);
    EXPECT_EQ(acl.error().what, "deny 10.0.0.0/33: bad prefix length 33");
    EXPECT_EQ(acl.error().exit_code, EX_USAGE);
    Acl a;
    EXPECT_FALSE(a.add_rule("permit 10.0.0.0/8"));
    EXPECT_FALSE(a.add_rule("allow"));
    EXPECT_FALSE(a.add_rule(""));
    EXPECT_FALSE(a.add_rule("allow 10.0.0.0/8 extra"));
    EXPECT_TRUE(a.add_rule("  allow\t10.0.0.0/8  "));
    EXPECT_EQ(a.rules().size(), 1u);
}

TEST(Acl, ReloadBuildsAFreshValue) {
    Acl live = make({"allow 192.0.2.0/24"}, Verdict::Deny);
    EXPECT_EQ(live.check(ip("198.51.100.1")), Verdict::Deny);
    // SIGHUP with a broken list keeps the live one ...
    std::vector<std::string> bad = {"allow 198.51.100.0/24", "allow nonsense"};
    auto fresh = Acl::from_rules(bad, Verdict::Deny);
    ASSERT_FALSE(fresh);
    EXPECT_EQ(live.check(ip("198.51.100.1")), Verdict::Deny);
    // ... a good one replaces it whole.
    std::vector<std::string> good = {"allow 198.51.100.0/24"};
    fresh = Acl::from_rules(good, Verdict::Deny);
    ASSERT_TRUE(fresh);
    live = std::move(*fresh);
    EXPECT_EQ(live.check(ip("198.51.100.1")), Verdict::Allow);
    EXPECT_EQ(live.check(ip("192.0.2.1")), Verdict::Deny);
}

// Property: check() equals a brute force "longest matching prefix, last rule on a tie".
TEST(Acl, RandomizedAgreesWithBruteForce) {
    std::mt19937_64 rng(test_seed("Acl.RandomizedAgreesWithBruteForce"));
    for (int round = 0; round < 200; ++round) {
        Acl acl(rng() & 1 ? Verdict::Allow : Verdict::Deny);
        std::vector<AclRule> added;
        // Few distinct base addresses so prefixes nest and collide.
        const std::uint32_t bases[] = {0xC0000200, 0xC0000280, 0x0A000000, 0xC6336400};
        const int n = static_cast<int>(rng() % 12);
        for (int i = 0; i < n; ++i) {
            auto base = IpAddress::v4(bases[rng() % 4] | static_cast<std::uint32_t>(rng() % 256));
            Cidr c(base, static_cast<int>(rng() % 33));
            Verdict v = rng() & 1 ? Verdict::Allow : Verdict::Deny;
            acl.add(v, c);
            added.push_back({v, c});
        }
        for (int q = 0; q < 200; ++q) {
            auto addr = IpAddress::v4(bases[rng() % 4] ^ static_cast<std::uint32_t>(rng() % 65536));
            Verdict want = acl.default_verdict();
            int best = -1;
            for (const auto& r : added)
                if (r.cidr.contains(addr) && r.cidr.prefix_len() >= best) {
                    best = r.cidr.prefix_len();
                    want = r.verdict;
                }
            ASSERT_EQ(acl.check(addr), want) << addr.to_string() << " round " << round;
        }
    }
}

TEST(AccessPolicy, ErrorsNameTheRule) {
    std::vector<std::string> bad{"restrict 2001:db8::/129"};
    auto p = make_access_policy(bad);
    ASSERT_FALSE(p.has_value());
    EXPECT_EQ(p.error().what.rfind("restrict 2001:db8::/129: ", 0), 0u) << p.error().what;
    EXPECT_EQ(p.error().exit_code, EX_USAGE);
    auto file = parse_acl_file("# comment\n\nallow 10.0.0.0/8  # trailing\n  deny all\nbogus 1.2.3.4\n");
    ASSERT_FALSE(file.has_value());
    EXPECT_EQ(file.error().what.rfind("line 5: ", 0), 0u) << file.error().what;
    auto good = parse_acl_file("allow 10.0.0.0/8\r\nrestrict ::1\n");
    ASSERT_TRUE(good.has_value());
    EXPECT_EQ(*good, (std::vector<std::string>{"allow 10.0.0.0/8", "restrict ::1"}));
}
