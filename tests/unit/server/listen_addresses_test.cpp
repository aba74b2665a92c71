#include "libtime/server/listen_addresses.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libtime/sys/socket.hpp"

using namespace timepipe;

namespace {

SocketAddress v4_any(std::uint16_t port) { return SocketAddress::any(AddressFamily::v4, port); }
SocketAddress v6_any(std::uint16_t port) { return SocketAddress::any(AddressFamily::v6, port); }

}  // namespace

TEST(ListenAddresses, NoArgumentMeansBothWildcardsEachOneFamily) {
    auto r = listen_addresses({}, 123);
    ASSERT_TRUE(r) << r.error().what;
    bool ipv6 = !ipv6_unavailable();
    ASSERT_EQ(r->size(), ipv6 ? 2u : 1u);
    EXPECT_EQ((*r)[0].address.to_string(), "0.0.0.0:123");
    if (ipv6) {
        EXPECT_EQ((*r)[1].address.to_string(), "[::]:123");
        EXPECT_TRUE((*r)[1].v6_only);  // the IPv4 wildcard beside it takes IPv4
    }
}

TEST(ListenAddresses, WithoutIpv6TheDefaultIsIpv4Only) {
    EXPECT_EQ(plan_listen({}, 123, false), (std::vector<ListenAddress>{{v4_any(123), true}}));
    EXPECT_EQ(plan_listen({}, 123, true),
              (std::vector<ListenAddress>{{v4_any(123), true}, {v6_any(123), true}}));
}

// "[::]" alone must serve IPv4 clients too (the README's example); beside "0.0.0.0" of the
// same port it cannot, and need not.
TEST(ListenAddresses, Ipv6WildcardAloneIsDualStack) {
    auto alone = listen_addresses(std::vector<std::string>{"[::]:123"}, 123);
    ASSERT_TRUE(alone) << alone.error().what;
    EXPECT_EQ(*alone, (std::vector<ListenAddress>{{v6_any(123), false}}));

    auto both = listen_addresses(std::vector<std::string>{"[::]:123", "0.0.0.0:123"}, 123);
    ASSERT_TRUE(both) << both.error().what;
    EXPECT_EQ(*both, (std::vector<ListenAddress>{{v6_any(123), true}, {v4_any(123), true}}));

    auto other_port = listen_addresses(std::vector<std::string>{"[::]:123", "0.0.0.0:1123"}, 123);
    ASSERT_TRUE(other_port) << other_port.error().what;
    EXPECT_FALSE((*other_port)[0].v6_only);
}

TEST(ListenAddresses, EachArgumentResolvedWithTheDefaultPort) {
    const std::vector<std::string> args{"127.0.0.1", "[::1]:2002"};
    auto r = listen_addresses(args, 123);
    ASSERT_TRUE(r) << r.error().what;
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0].address.to_string(), "127.0.0.1:123");
    EXPECT_EQ((*r)[1].address.to_string(), "[::1]:2002");
}

TEST(ListenAddresses, ErrorsNameTheArgument) {
    const std::vector<std::string> bad{"[::1"};
    auto r = listen_addresses(bad, 123);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().exit_code, EX_USAGE);
    EXPECT_EQ(r.error().what.rfind("--listen [::1: ", 0), 0u) << r.error().what;
}
