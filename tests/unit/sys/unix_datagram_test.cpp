// libtime/sys/unix_datagram: a datagram to a bound socket arrives whole; nobody bound, a path
// too long, a bound path taken: each its own error; the bound path goes with the socket.
#include "libtime/sys/unix_datagram.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>
#include <unistd.h>

using namespace timepipe;

namespace {

std::string temp_path(const char* name) {
    return ::testing::TempDir() + "ud_test." + std::to_string(::getpid()) + "." + name;
}

}  // namespace

TEST(UnixDatagram, SendsOneDatagramWhole) {
    const auto path = temp_path("recv");
    auto srv = UnixDatagramSocket::bind(path);
    ASSERT_TRUE(srv) << srv.error().what;
    auto cli = UnixDatagramSocket::client();
    ASSERT_TRUE(cli);
    std::array<std::byte, 40> out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = std::byte(i);
    ASSERT_TRUE(cli->send_to(path, out));
    std::array<std::byte, 64> in{};
    auto n = srv->receive(in, 1000);
    ASSERT_TRUE(n);
    ASSERT_TRUE(n->has_value());
    EXPECT_EQ(**n, 40u);
    EXPECT_TRUE(std::equal(out.begin(), out.end(), in.begin()));
    // Nothing more waiting: a zero timeout returns at once with nothing.
    n = srv->receive(in, 0);
    ASSERT_TRUE(n);
    EXPECT_FALSE(n->has_value());
    // A datagram longer than the buffer: the size says so.
    ASSERT_TRUE(cli->send_to(path, out));
    n = srv->receive(std::span(in).first(8), 1000);
    ASSERT_TRUE(n && n->has_value());
    EXPECT_EQ(**n, 40u);
}

TEST(UnixDatagram, Errors) {
    auto cli = UnixDatagramSocket::client();
    ASSERT_TRUE(cli);
    std::array<std::byte, 4> d{};
    auto ok = cli->send_to(temp_path("nobody"), d);
    ASSERT_FALSE(ok);
    EXPECT_EQ(ok.error().exit_code, EX_UNAVAILABLE);
    ok = cli->send_to(std::string(200, 'x'), d);
    ASSERT_FALSE(ok);
    EXPECT_EQ(ok.error().exit_code, EX_USAGE);

    // A socket file nobody holds any more: connection refused, also EX_UNAVAILABLE.
    const auto path = temp_path("stale");
    {
        auto srv = UnixDatagramSocket::bind(path);
        ASSERT_TRUE(srv);
        auto again = UnixDatagramSocket::bind(path);
        ASSERT_FALSE(again);
        EXPECT_EQ(again.error().exit_code, EX_CANTCREAT);
        EXPECT_EQ(::access(path.c_str(), F_OK), 0);
    }
    EXPECT_NE(::access(path.c_str(), F_OK), 0);  // removed with its socket
}
