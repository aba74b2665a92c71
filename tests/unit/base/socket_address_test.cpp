// SocketAddress (pure) and the numeric/name resolution in sys_resolve.
#include "libtime/base/socket_address.hpp"
#include "libtime/sys/resolve.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <random>
#include <unordered_set>

#include "tests/unit/test_support.hpp"

using namespace timepipe;

namespace {

std::array<std::byte, 16> v6bytes(const char* text) {
    std::array<std::byte, 16> a{};
    EXPECT_EQ(inet_pton(AF_INET6, text, a.data()), 1) << text;
    return a;
}

using timepipe::test::test_seed;

}  // namespace

TEST(SocketAddress, V4) {
    auto a = SocketAddress::v4({std::byte{127}, std::byte{0}, std::byte{0}, std::byte{1}}, 123);
    EXPECT_TRUE(a.is_v4());
    EXPECT_EQ(a.port(), 123);
    EXPECT_EQ(a.bytes().size(), 4u);
    EXPECT_EQ(a.to_string(), "127.0.0.1:123");
    EXPECT_TRUE(a.is_loopback());
    EXPECT_FALSE(a.is_unspecified());
    EXPECT_EQ(a, SocketAddress::loopback(AddressFamily::v4, 123));
    EXPECT_EQ(SocketAddress().to_string(), "0.0.0.0:0");
    EXPECT_TRUE(SocketAddress::any(AddressFamily::v4).is_unspecified());
}

TEST(SocketAddress, V6) {
    auto a = SocketAddress::loopback(AddressFamily::v6, 123);
    EXPECT_TRUE(a.is_v6());
    EXPECT_EQ(a.bytes().size(), 16u);
    EXPECT_EQ(a.to_string(), "[::1]:123");
    EXPECT_TRUE(a.is_loopback());
    EXPECT_EQ(SocketAddress::any(AddressFamily::v6, 5).to_string(), "[::]:5");
    EXPECT_EQ(SocketAddress::v6(v6bytes("fe80::1"), 123, 2).to_string(), "[fe80::1%2]:123");
    EXPECT_NE(SocketAddress::v6(v6bytes("fe80::1"), 123, 2), SocketAddress::v6(v6bytes("fe80::1"), 123, 3));
}

TEST(SocketAddress, Rfc5952Text) {
    // RFC 5952 §4: shortest form, lower case, longest zero run, first on a tie, no "::" for one group.
    const char* cases[][2] = {
        {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
        {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
        {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
        {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
        {"0:0:0:0:0:0:0:0", "::"},
        {"1:0:0:0:0:0:0:0", "1::"},
        {"ABCD:EF01:2345:6789:ABCD:EF01:2345:6789", "abcd:ef01:2345:6789:abcd:ef01:2345:6789"},
    };
    for (auto& c : cases)
        EXPECT_EQ(SocketAddress::v6(v6bytes(c[0]), 0).address_string(), c[1]) << c[0];
}

TEST(SocketAddress, MappedV4IsNormalised) {
    auto a = SocketAddress::v6(v6bytes("::ffff:192.0.2.7"), 123);
    EXPECT_TRUE(a.is_v4());
    EXPECT_EQ(a.to_string(), "192.0.2.7:123");
    EXPECT_EQ(a, SocketAddress::v4({std::byte{192}, std::byte{0}, std::byte{2}, std::byte{7}}, 123));
    EXPECT_EQ(a.hash(), SocketAddress::v4({std::byte{192}, std::byte{0}, std::byte{2}, std::byte{7}}, 123).hash());
    // ::192.0.2.7 (the deprecated compatible form) is not mapped.
    EXPECT_TRUE(SocketAddress::v6(v6bytes("::192.0.2.7"), 1).is_v6());
}

// Text agrees with inet_ntop for random addresses, and equal values hash equal.
TEST(SocketAddress, RandomAgreesWithInetNtop) {
    const std::uint64_t seed = test_seed("SocketAddress.RandomAgreesWithInetNtop");
    std::mt19937_64 rng(seed);
    std::unordered_set<SocketAddress> set;
    for (int i = 0; i < 5000; ++i) {
        std::array<std::byte, 16> a{};
        for (auto& b : a)  // many zeros so that runs appear
            b = rng() % 3 == 0 ? std::byte(rng()) : std::byte{0};
        auto sa = SocketAddress::v6(a, static_cast<std::uint16_t>(rng()));
        char buf[INET6_ADDRSTRLEN];
        ASSERT_NE(inet_ntop(AF_INET6, a.data(), buf, sizeof buf), nullptr);
        // glibc writes IPv4-compatible addresses (::a.b.c.d, deprecated) in dotted form.
        bool compat = std::all_of(a.begin(), a.begin() + 12, [](std::byte b) { return b == std::byte{0}; });
        if (sa.is_v6() && !compat) {
            EXPECT_EQ(sa.address_string(), buf) << "seed " << seed;
        }
        auto parsed = parse_address(sa.address_string(), sa.port());
        ASSERT_TRUE(parsed.has_value()) << sa.address_string();
        EXPECT_EQ(*parsed, sa);
        EXPECT_EQ(parsed->hash(), sa.hash());
        set.insert(sa);
        EXPECT_EQ(set.count(*parsed), 1u);
    }
}

TEST(SocketAddress, ParseAddress) {
    EXPECT_EQ(parse_address("127.0.0.1", 9), SocketAddress::loopback(AddressFamily::v4, 9));
    EXPECT_EQ(parse_address("::1", 9), SocketAddress::loopback(AddressFamily::v6, 9));
    EXPECT_EQ(parse_address("::ffff:127.0.0.1", 9), SocketAddress::loopback(AddressFamily::v4, 9));
    EXPECT_EQ(parse_address("fe80::1%lo", 9)->scope_id(), 1u);  // lo is interface 1
    EXPECT_EQ(parse_address("fe80::1%7", 9)->scope_id(), 7u);
    EXPECT_FALSE(parse_address("fe80::1%no-such-if0", 9));
    EXPECT_FALSE(parse_address("example.org"));
    EXPECT_FALSE(parse_address("1.2.3"));
    EXPECT_FALSE(parse_address("256.1.1.1"));
    EXPECT_FALSE(parse_address(""));
}

TEST(Resolve, Numeric) {
    auto r = resolve(HostPort{"192.0.2.1", std::nullopt}, 123);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].to_string(), "192.0.2.1:123");
    r = resolve(HostPort{"::1", 4123}, 123);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ((*r)[0].to_string(), "[::1]:4123");
    r = resolve(HostPort{"::1", 4123}, 123, Family::v4);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().exit_code, EX_NOHOST);
}

TEST(Resolve, LocalhostFromHostsFile) {
    auto r = resolve(HostPort{"localhost", std::nullopt}, 123, Family::v4);
    ASSERT_TRUE(r.has_value()) << r.error().what;
    EXPECT_EQ((*r)[0], SocketAddress::loopback(AddressFamily::v4, 123));
    // No duplicates although getaddrinfo may list an address more than once.
    auto all = resolve(HostPort{"localhost", 9}, 123);
    ASSERT_TRUE(all.has_value());
    std::unordered_set<SocketAddress> unique(all->begin(), all->end());
    EXPECT_EQ(unique.size(), all->size());
    for (auto& a : *all)
        EXPECT_EQ(a.port(), 9);
}

TEST(Resolve, UnknownName) {
    // .invalid never resolves (RFC 6761), with or without a network.
    auto r = resolve(HostPort{"no-such-host.invalid", std::nullopt}, 123);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().what, "name or service not known");
    EXPECT_EQ(r.error().exit_code, EX_NOHOST);
}
