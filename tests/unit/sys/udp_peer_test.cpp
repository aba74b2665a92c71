// libtime/sys/udp_peer: a connected socket in an event loop hands over the peer's datagrams
// with a receive time, and reports a closed port (ICMP port unreachable) as an error. Every
// wait is for an event.
#include "libtime/sys/udp_peer.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/sys/sys_support.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace std::chrono_literals;

namespace {

using timepipe::test::bytes;
using timepipe::test::Watchdog;

}  // namespace

TEST(UdpPeer, EchoComesBackWithAReceiveTime) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.has_value());
    Watchdog dog(*loop);
    auto server = UdpSocket::bind(SocketAddress::loopback(AddressFamily::v4, 0));
    ASSERT_TRUE(server.has_value()) << server.error().what;
    auto echo = FdWatcher::create(*loop, server->fd(), [&](FdEvents) {
        std::array<std::byte, 64> buf;
        RxSlot slot;
        slot.buffer = buf;
        if (auto got = server->receive(slot); got && *got) (void)server->send_to(slot.data(), slot.peer);
    });
    ASSERT_TRUE(echo.has_value());
    std::string reply;
    UnixNanos rx = 0;
    auto peer = UdpPeer::open(*loop, server->local_address(),
                              {.on_datagram =
                                   [&](std::span<const std::byte> d, UnixNanos t) {
                                       reply.assign(reinterpret_cast<const char*>(d.data()), d.size());
                                       rx = t;
                                       loop->stop();
                                   },
                               .on_tx_time = {},
                               .on_error = [&](const Error& e) { ADD_FAILURE() << e.what; }});
    ASSERT_TRUE(peer.has_value()) << peer.error().what;
    ASSERT_TRUE((*peer)->send(bytes("hello")).has_value());
    loop->run();
    EXPECT_EQ(reply, "hello");
    EXPECT_GT(rx, 0);
}

TEST(UdpPeer, AClosedPortIsAnErrorAndStopEndsTheCallbacks) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.has_value());
    Watchdog dog(*loop);
    SocketAddress closed;
    {
        auto s = UdpSocket::bind(SocketAddress::loopback(AddressFamily::v4, 0));
        ASSERT_TRUE(s.has_value());
        closed = s->local_address();
    }  // closed: the port answers ICMP port unreachable
    int errors = 0;
    UdpPeer* self = nullptr;
    auto peer = UdpPeer::open(*loop, closed,
                              {.on_datagram = [&](std::span<const std::byte>, UnixNanos) { ADD_FAILURE(); },
                               .on_tx_time = {},
                               .on_error =
                                   [&](const Error&) {
                                       ++errors;
                                       self->stop();
                                       loop->stop();
                                   }});
    ASSERT_TRUE(peer.has_value()) << peer.error().what;
    self = peer->get();
    ASSERT_TRUE((*peer)->send(bytes("anyone?")).has_value());
    loop->run();
    EXPECT_EQ(errors, 1);
}
