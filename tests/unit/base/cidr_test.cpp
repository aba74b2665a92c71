#include "libtime/base/cidr.hpp"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/test_support.hpp"

using namespace timepipe;

namespace {

using timepipe::test::test_seed;

std::array<std::byte, 4> v4(unsigned a, unsigned b, unsigned c, unsigned d) {
    return {std::byte(a), std::byte(b), std::byte(c), std::byte(d)};
}

std::array<std::byte, 16> bytes16(const IpAddress& a) { return a.bytes(); }

IpAddress ip(const char* s) {
    auto r = parse_ip(s);
    EXPECT_TRUE(r.has_value()) << s;
    return r ? *r : IpAddress{};
}

Cidr cidr(const char* s) {
    auto r = parse_cidr(s);
    EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error().what);
    return r ? *r : Cidr{};
}

}  // namespace

TEST(Cidr, ParsesDottedQuad) {
    auto a = parse_ip("192.0.2.1");
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->is_v4());
    EXPECT_EQ(a->to_string(), "192.0.2.1");
    EXPECT_EQ(*a, IpAddress::v4(0xC0000201));
    EXPECT_EQ(ip("0.0.0.0").to_string(), "0.0.0.0");
    EXPECT_EQ(ip("255.255.255.255").to_string(), "255.255.255.255");
}

TEST(Cidr, RejectsBadDottedQuad) {
    for (const char* s : {"", "1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4",
                          "01.2.3.4", "1.2.3.04", "1..2.3", "1.2.3.", ".1.2.3", "1.2.3.4/",
                          "a.b.c.d", "1.2.3.-4", "+1.2.3.4", "1.2.3.1000", "0x1.2.3.4"}) {
        auto r = parse_cidr(s);
        EXPECT_FALSE(r.has_value()) << '"' << s << '"';
    }
    auto r = parse_ip("300.1.2.3");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "bad IPv4 address \"300.1.2.3\"");
    EXPECT_EQ(r.error().exit_code, EX_USAGE);
}

TEST(Cidr, ParsesRfc4291Forms) {
    // RFC 4291 §2.2 examples, and RFC 5952 canonical output.
    EXPECT_EQ(ip("2001:DB8:0:0:8:800:200C:417A").to_string(), "2001:db8::8:800:200c:417a");
    EXPECT_EQ(ip("2001:DB8::8:800:200C:417A"), ip("2001:db8:0:0:8:800:200c:417a"));
    EXPECT_EQ(ip("FF01::101").to_string(), "ff01::101");
    EXPECT_EQ(ip("::1").to_string(), "::1");
    EXPECT_EQ(ip("::").to_string(), "::");
    EXPECT_EQ(ip("1::").to_string(), "1::");
    EXPECT_EQ(ip("0:0:0:0:0:0:13.1.68.3").to_string(), "::d01:4403");
    EXPECT_EQ(ip("::13.1.68.3"), ip("0:0:0:0:0:0:13.1.68.3"));
    EXPECT_EQ(ip("64:ff9b::192.0.2.33").to_string(), "64:ff9b::c000:221");
    EXPECT_EQ(ip("1:2:3:4:5:6:7:8").to_string(), "1:2:3:4:5:6:7:8");
    EXPECT_EQ(ip("1:2:3:4:5:6::").to_string(), "1:2:3:4:5:6::");
    EXPECT_EQ(ip("1::8").to_string(), "1::8");
    EXPECT_EQ(ip("1:0:0:2:0:0:0:3").to_string(), "1:0:0:2::3");   // longest run compressed
    EXPECT_EQ(ip("1:0:0:2:0:0:3:4").to_string(), "1::2:0:0:3:4");  // first of equal runs
    EXPECT_EQ(ip("1:0:2:3:4:5:6:7").to_string(), "1:0:2:3:4:5:6:7");  // never one group
    EXPECT_EQ(ip("2001:db8::1:0:0:1").to_string(), "2001:db8::1:0:0:1");
}

TEST(Cidr, MappedAddressIsIpv4) {
    auto a = ip("::ffff:192.0.2.7");
    EXPECT_TRUE(a.is_v4());
    EXPECT_EQ(a, ip("192.0.2.7"));
    EXPECT_EQ(a.to_string(), "192.0.2.7");
    EXPECT_EQ(ip("::ffff:c000:207"), ip("192.0.2.7"));
    EXPECT_FALSE(ip("::192.0.2.7").is_v4());  // deprecated IPv4-compatible: plain IPv6
    EXPECT_FALSE(ip("64:ff9b::192.0.2.7").is_v4());
}

TEST(Cidr, RejectsBadIpv6) {
    for (const char* s : {":", ":::", "1:::2", "1::2::3", ":1::", "1:2:3:4:5:6:7:8:9",
                          "1:2:3:4:5:6:7", "1:2:3:4:5:6:7::8", "::1:2:3:4:5:6:7:8", "12345::",
                          "g::", "1:2:3:4:5:6:7:", ":1:2:3:4:5:6:7", "::1.2.3.4:5",
                          "1.2.3.4::", "::1.2.3", "::01.2.3.4", "1:2:3:4:5:6:7:1.2.3.4",
                          "fe80::1%eth0", "[::1]", "::1 ", "1::2:"}) {
        auto r = parse_ip(s);
        EXPECT_FALSE(r.has_value()) << '"' << s << '"' << " -> " << (r ? r->to_string() : "");
    }
    // Exactly 7 groups around "::", and 6 groups plus an IPv4 tail, are fine.
    EXPECT_TRUE(parse_ip("1:2:3:4:5:6::7"));
    EXPECT_TRUE(parse_ip("1:2:3:4:5:6:1.2.3.4"));
    EXPECT_TRUE(parse_ip("1:2:3:4:5::1.2.3.4"));
    EXPECT_FALSE(parse_ip("1:2:3:4:5:6::1.2.3.4"));
    auto r = parse_ip("2001:db8::zz");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "bad IPv6 address \"2001:db8::zz\"");
}

TEST(Cidr, ParsesPrefixes) {
    auto c = cidr("192.0.2.0/24");
    EXPECT_TRUE(c.is_v4());
    EXPECT_EQ(c.prefix_len(), 24);
    EXPECT_EQ(c.to_string(), "192.0.2.0/24");
    EXPECT_EQ(cidr("2001:db8::/32").to_string(), "2001:db8::/32");
    EXPECT_EQ(cidr("192.0.2.1").to_string(), "192.0.2.1/32");       // bare = host
    EXPECT_EQ(cidr("2001:db8::1").to_string(), "2001:db8::1/128");
    EXPECT_EQ(cidr("192.0.2.77/24").to_string(), "192.0.2.0/24");    // host bits cleared
    EXPECT_EQ(cidr("0.0.0.0/0").to_string(), "0.0.0.0/0");
    EXPECT_EQ(cidr("::/0").to_string(), "::/0");
    EXPECT_EQ(cidr("::ffff:192.0.2.0/120").to_string(), "192.0.2.0/24");
    EXPECT_EQ(cidr("::ffff:0:0/96").to_string(), "0.0.0.0/0");
    EXPECT_EQ(cidr("::ffff:192.0.2.1").to_string(), "192.0.2.1/32");
    EXPECT_FALSE(cidr("::ffff:0:0/95").is_v4());
}

TEST(Cidr, RejectsBadPrefixes) {
    auto r = parse_cidr("192.0.2.0/33");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "bad prefix length 33");
    EXPECT_EQ(r.error().exit_code, EX_USAGE);
    r = parse_cidr("2001:db8::/129");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "bad prefix length 129");
    for (const char* s : {"192.0.2.0/", "192.0.2.0/-1", "192.0.2.0/+8", "192.0.2.0/08",
                          "192.0.2.0/1000", "192.0.2.0/24/8", "192.0.2.0/ 24", "192.0.2.0/x",
                          "/24", "::/1280", "192.0.2.0/24 "}) {
        EXPECT_FALSE(parse_cidr(s).has_value()) << '"' << s << '"';
    }
}

TEST(Cidr, MatchesIpv4) {
    auto c = cidr("192.0.2.0/24");
    EXPECT_TRUE(c.contains(v4(192, 0, 2, 0)));
    EXPECT_TRUE(c.contains(v4(192, 0, 2, 255)));
    EXPECT_FALSE(c.contains(v4(192, 0, 3, 0)));
    EXPECT_FALSE(c.contains(v4(192, 0, 1, 255)));
    EXPECT_TRUE(cidr("0.0.0.0/0").contains(v4(203, 0, 113, 9)));
    EXPECT_TRUE(cidr("10.0.0.0/8").contains(v4(10, 255, 1, 2)));
    EXPECT_FALSE(cidr("192.0.2.1").contains(v4(192, 0, 2, 2)));
    EXPECT_TRUE(cidr("192.0.2.1").contains(v4(192, 0, 2, 1)));
    EXPECT_TRUE(cidr("192.0.2.128/25").contains(v4(192, 0, 2, 200)));
    EXPECT_FALSE(cidr("192.0.2.128/25").contains(v4(192, 0, 2, 127)));
}

TEST(Cidr, MatchesIpv6AndMapped) {
    auto c = cidr("2001:db8::/32");
    EXPECT_TRUE(c.contains(bytes16(ip("2001:db8:ffff::1"))));
    EXPECT_FALSE(c.contains(bytes16(ip("2001:db9::1"))));
    EXPECT_TRUE(cidr("2001:db8::/33").contains(bytes16(ip("2001:db8:7fff::"))));
    EXPECT_FALSE(cidr("2001:db8::/33").contains(bytes16(ip("2001:db8:8000::"))));
    EXPECT_TRUE(cidr("2001:db8::1:0:0:0/80").contains(bytes16(ip("2001:db8::1:0:ffff:ffff"))));
    // An IPv4 peer seen on a dual-stack socket as ::ffff:a.b.c.d matches IPv4 rules ...
    auto mapped = bytes16(ip("::ffff:192.0.2.7"));
    EXPECT_EQ(std::to_integer<int>(mapped[10]), 0xff);
    EXPECT_TRUE(cidr("192.0.2.0/24").contains(mapped));
    EXPECT_TRUE(cidr("0.0.0.0/0").contains(mapped));
    // ... and no IPv6 rule, not even ::/0; an IPv4 rule never matches IPv6.
    EXPECT_FALSE(cidr("::/0").contains(mapped));
    EXPECT_FALSE(cidr("::/0").contains(v4(192, 0, 2, 7)));
    EXPECT_FALSE(cidr("0.0.0.0/0").contains(bytes16(ip("::1"))));
    EXPECT_FALSE(cidr("0.0.0.0/0").contains(bytes16(ip("::"))));
    EXPECT_TRUE(cidr("::/0").contains(bytes16(ip("::"))));
    // Wrong sizes match nothing.
    std::array<std::byte, 5> five{};
    EXPECT_FALSE(cidr("0.0.0.0/0").contains(std::span<const std::byte>(five)));
    EXPECT_FALSE(cidr("::/0").contains(std::span<const std::byte>()));
}

// Property: for random addresses and lengths, the text form round-trips, the prefix contains
// its own network and exactly the addresses agreeing on the first `len` bits.
TEST(Cidr, RandomizedRoundTripAndMatch) {
    std::mt19937_64 rng(test_seed("Cidr.RandomizedRoundTripAndMatch"));
    for (int iter = 0; iter < 20000; ++iter) {
        std::array<std::byte, 16> raw{};
        const bool four = rng() & 1;
        for (auto& b : raw) b = std::byte(rng() & 0xff);
        // Sprinkle zero groups so "::" compression gets exercised.
        for (int g = 0; g < 8; ++g)
            if (rng() % 3 == 0) raw[2 * g] = raw[2 * g + 1] = std::byte{0};
        auto a = four ? *IpAddress::from_bytes(std::span<const std::byte>(raw).first(4))
                      : *IpAddress::from_bytes(raw);
        auto back = parse_ip(a.to_string());
        ASSERT_TRUE(back) << a.to_string();
        ASSERT_EQ(*back, a) << a.to_string();

        const int max = a.is_v4() ? 32 : 128;
        const int len = static_cast<int>(rng() % (max + 1));
        Cidr c(a, len);
        auto parsed = parse_cidr(c.to_string());
        ASSERT_TRUE(parsed) << c.to_string();
        ASSERT_EQ(*parsed, c);
        ASSERT_TRUE(c.contains(a));
        ASSERT_TRUE(c.contains(c.network()));

        // Flip one bit: inside the prefix it leaves the network, outside it stays in.
        const int flip = static_cast<int>(rng() % max);
        auto other = a.bytes();
        const int pos = a.is_v4() ? 96 + flip : flip;
        other[static_cast<std::size_t>(pos / 8)] ^= std::byte(0x80 >> (pos % 8));
        auto b = *IpAddress::from_bytes(other);
        ASSERT_EQ(c.contains(b), flip >= len) << c.to_string() << " " << b.to_string();
    }
}
