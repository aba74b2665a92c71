#include "libtime/base/host_port.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tests/unit/test_support.hpp"

using namespace timepipe;

namespace {

HostPort host_port_of(std::string_view text) {
    auto r = parse_host_port(text);
    EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().what);
    return r ? *r : HostPort{};
}

std::string host_port_error(std::string_view text) {
    auto r = parse_host_port(text);
    EXPECT_FALSE(r.has_value()) << text << " parsed";
    if (r)
        return "";
    EXPECT_EQ(r.error().exit_code, EX_USAGE);
    return r.error().what;
}

}  // namespace

TEST(HostPort, Forms) {
    EXPECT_EQ(host_port_of("example.org"), (HostPort{"example.org", std::nullopt}));
    EXPECT_EQ(host_port_of("example.org:123"), (HostPort{"example.org", 123}));
    EXPECT_EQ(host_port_of("192.0.2.1"), (HostPort{"192.0.2.1", std::nullopt}));
    EXPECT_EQ(host_port_of("192.0.2.1:4123"), (HostPort{"192.0.2.1", 4123}));
    EXPECT_EQ(host_port_of("[::1]:123"), (HostPort{"::1", 123}));
    EXPECT_EQ(host_port_of("[::1]"), (HostPort{"::1", std::nullopt}));
    EXPECT_EQ(host_port_of("::1"), (HostPort{"::1", std::nullopt}));
    EXPECT_EQ(host_port_of("2001:db8::1"), (HostPort{"2001:db8::1", std::nullopt}));
    EXPECT_EQ(host_port_of("[fe80::1%eth0]:123"), (HostPort{"fe80::1%eth0", 123}));
    EXPECT_EQ(host_port_of("[::ffff:192.0.2.1]:1"), (HostPort{"::ffff:192.0.2.1", 1}));
    EXPECT_EQ(host_port_of("host:0"), (HostPort{"host", 0}));
    EXPECT_EQ(host_port_of("host:65535"), (HostPort{"host", 65535}));
    EXPECT_EQ(host_port_of("host:00123"), (HostPort{"host", 123}));
    // More than one colon without brackets is all address: no port is taken from the end.
    EXPECT_EQ(host_port_of("::1:123"), (HostPort{"::1:123", std::nullopt}));
}

TEST(HostPort, Errors) {
    EXPECT_EQ(host_port_error(""), "empty address");
    EXPECT_EQ(host_port_error("[::1"), "missing ']'");
    EXPECT_EQ(host_port_error("host:"), "missing port after ':'");
    EXPECT_EQ(host_port_error("[::1]:"), "missing port after ':'");
    EXPECT_EQ(host_port_error("host:99999"), "port out of range (0-65535)");
    EXPECT_EQ(host_port_error("host:65536"), "port out of range (0-65535)");
    EXPECT_EQ(host_port_error("host:1234567"), "port out of range (0-65535)");
    EXPECT_EQ(host_port_error("host:12a"), "port is not a number");
    EXPECT_EQ(host_port_error("host:-1"), "port is not a number");
    EXPECT_EQ(host_port_error("host:+1"), "port is not a number");
    EXPECT_EQ(host_port_error(":123"), "empty host name");
    EXPECT_EQ(host_port_error("[]:123"), "empty host name");
    EXPECT_EQ(host_port_error("[::1]x"), "unexpected text after ']'");
    EXPECT_EQ(host_port_error("::1]"), "unexpected ']'");
    EXPECT_EQ(host_port_error("[example.org]:1"), "brackets hold an IPv6 address");
    EXPECT_EQ(host_port_error("exa mple.org"), "invalid character in host name");
    EXPECT_EQ(host_port_error("host/x:1"), "invalid character in host name");
    EXPECT_EQ(host_port_error(std::string_view("a\0b", 3)), "invalid character in host name");
    EXPECT_EQ(host_port_error(std::string(254, 'a')), "host name too long");
    EXPECT_TRUE(parse_host_port(std::string(253, 'a')).has_value());
}

TEST(HostPort, CanonicalSpelling) {
    EXPECT_EQ(to_string(HostPort{"::1", 123}), "[::1]:123");
    EXPECT_EQ(to_string(HostPort{"::1", std::nullopt}), "[::1]");
    EXPECT_EQ(to_string(HostPort{"example.org", 123}), "example.org:123");
    EXPECT_EQ(to_string(HostPort{"example.org", std::nullopt}), "example.org");
}

// Whatever parses, re-spelled canonically, parses to the same value.
TEST(HostPort, RoundTripProperty) {
    const std::uint64_t seed = timepipe::test::test_seed("HostPort.RoundTripProperty");
    std::mt19937_64 rng(seed);
    const std::string alphabet = "ab9.-_:[]%0 ";
    int parsed = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string s;
        auto len = rng() % 12;
        for (std::size_t j = 0; j < len; ++j)
            s += alphabet[rng() % alphabet.size()];
        auto r = parse_host_port(s);
        if (!r)
            continue;
        ++parsed;
        auto again = parse_host_port(to_string(*r));
        ASSERT_TRUE(again.has_value()) << "seed " << seed << ": " << s << " → " << to_string(*r);
        EXPECT_EQ(*again, *r) << "seed " << seed << ": " << s;
    }
    EXPECT_GT(parsed, 100);
}
