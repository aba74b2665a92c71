// Real sockets on loopback: batches, kernel RX/TX timestamps, pktinfo, IPv4 and IPv6.
#include "libtime/sys/socket.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "libtime/sys/clock.hpp"
#include "tests/unit/sys/sys_support.hpp"

using namespace timepipe;
using namespace std::chrono_literals;

namespace {

// Owns the buffers a batch of RxSlots points into.
struct RxBatch {
    explicit RxBatch(std::size_t n, std::size_t size = 1500) : storage(n, std::vector<std::byte>(size)), slots(n) {
        for (std::size_t i = 0; i < n; ++i)
            slots[i].buffer = storage[i];
    }
    std::vector<std::vector<std::byte>> storage;
    std::vector<RxSlot> slots;
};

std::vector<std::byte> payload(int i) {
    std::string s = "datagram " + std::to_string(i);
    std::vector<std::byte> v(48, std::byte{0});  // NTP-sized
    std::memcpy(v.data(), s.data(), s.size());
    return v;
}

using timepipe::test::must;

// Receives exactly `want` datagrams (waiting up to 1 s for each wake-up).
std::size_t receive_all(UdpSocket& s, RxBatch& batch, std::size_t want) {
    std::size_t got = 0;
    while (got < want) {
        auto ready = wait_readable(s.fd(), 1s);
        EXPECT_TRUE(ready.has_value());
        if (!ready || !*ready)
            break;
        auto n = s.receive_batch(std::span(batch.slots).subspan(got, want - got));
        EXPECT_TRUE(n.has_value()) << n.error().what;
        if (!n)
            break;
        got += *n;
    }
    return got;
}

// The kernel stamps received datagrams only once some socket has asked, and it switches that
// on from a workqueue: the first datagrams after the first timestamping socket in the system
// opens can come without a stamp. Sends a probe every millisecond until one arrives stamped
// (at most 2 s).
void wait_for_rx_stamps(UdpSocket& server, UdpSocket& client) {
    RxBatch rx(8);
    const std::int64_t deadline = monotonic_now() + 2'000'000'000;
    while (monotonic_now() < deadline) {
        ASSERT_TRUE(client.send_to(payload(-1), server.local_address()).has_value());
        auto ready = wait_readable(server.fd(), 10ms);
        ASSERT_TRUE(ready.has_value());
        auto n = server.receive_batch(rx.slots);
        ASSERT_TRUE(n.has_value()) << n.error().what;
        for (std::size_t k = 0; k < *n; ++k)
            if (rx.slots[k].kernel_time)
                return;
        std::this_thread::sleep_for(1ms);
    }
    FAIL() << "the kernel never stamped a received datagram";
}

class Loopback : public ::testing::TestWithParam<AddressFamily> {};

}  // namespace

TEST_P(Loopback, BatchWithKernelRxTimestampsAndLocalAddress) {
    AddressFamily f = GetParam();
    UdpSocket server = must(UdpSocket::bind(SocketAddress::loopback(f, 0)));
    UdpSocket client = must(UdpSocket::client(f));
    ASSERT_NE(server.local_address().port(), 0);
    EXPECT_EQ(server.rx_timestamping(), RxTimestamping::timestamping);
    wait_for_rx_stamps(server, client);
    RxBatch drain(8);
    while (server.receive_batch(drain.slots).value_or(0) != 0) {
    }

    constexpr std::size_t kN = 40;  // more than one internal chunk of 32
    std::vector<std::vector<std::byte>> data;
    std::vector<TxSlot> tx;
    for (std::size_t i = 0; i < kN; ++i)
        data.push_back(payload(static_cast<int>(i)));
    for (auto& d : data)
        tx.push_back(TxSlot{d, server.local_address(), std::nullopt});

    UnixNanos before = SystemClock().now();
    auto sent = client.send_batch(tx);
    UnixNanos after = SystemClock().now();
    ASSERT_TRUE(sent.has_value()) << sent.error().what;
    ASSERT_EQ(*sent, kN);

    RxBatch rx(kN);
    ASSERT_EQ(receive_all(server, rx, kN), kN);
    for (std::size_t i = 0; i < kN; ++i) {
        const RxSlot& s = rx.slots[i];
        EXPECT_EQ(s.length, 48u);
        EXPECT_FALSE(s.truncated);
        EXPECT_TRUE(std::equal(s.data().begin(), s.data().end(), data[i].begin())) << i;
        EXPECT_EQ(s.peer, SocketAddress::loopback(f, client.local_address().port()));
        ASSERT_TRUE(s.local.has_value());
        EXPECT_EQ(*s.local, server.local_address());  // bound to it: known without IP_PKTINFO
        EXPECT_EQ(s.ifindex, 0u);
        EXPECT_TRUE(s.kernel_time);
        // On loopback the kernel stamps the datagram inside the sender's syscall.
        EXPECT_GE(s.rx_time, before);
        EXPECT_LE(s.rx_time, after);
    }
    // The queue is empty now: 0, not an error.
    auto none = server.receive_batch(rx.slots);
    ASSERT_TRUE(none.has_value());
    EXPECT_EQ(*none, 0u);
}

TEST_P(Loopback, TxTimestampsMatchById) {
    AddressFamily f = GetParam();
    UdpSocket server = must(UdpSocket::bind(SocketAddress::loopback(f, 0)));
    UdpSocket client = must(UdpSocket::client(f, {.tx_timestamps = true}));
    ASSERT_TRUE(client.tx_timestamping());
    EXPECT_EQ(client.next_tx_id(), 0u);

    std::vector<std::byte> d = payload(1);
    std::array<TxSlot, 3> tx{TxSlot{d, server.local_address(), std::nullopt},
                             TxSlot{d, server.local_address(), std::nullopt},
                             TxSlot{d, server.local_address(), std::nullopt}};
    UnixNanos before = SystemClock().now();
    auto sent = client.send_batch(tx);
    UnixNanos after = SystemClock().now();
    ASSERT_TRUE(sent.has_value());
    ASSERT_EQ(*sent, 3u);
    EXPECT_EQ(client.next_tx_id(), 3u);
    UnixNanos before4 = SystemClock().now();
    ASSERT_TRUE(client.send_to(d, server.local_address()).has_value());
    UnixNanos after4 = SystemClock().now();
    EXPECT_EQ(client.next_tx_id(), 4u);

    std::array<TxTimestamp, 8> ts{};
    std::size_t got = 0;
    while (got < 4) {
        auto ready = wait_readable(client.fd(), 1s);  // the error queue shows as POLLERR
        ASSERT_TRUE(ready.has_value() && *ready) << "no tx timestamp after " << got;
        auto n = client.read_tx_timestamps(std::span(ts).subspan(got));
        ASSERT_TRUE(n.has_value()) << n.error().what;
        got += *n;
    }
    ASSERT_EQ(got, 4u);
    for (std::uint32_t i = 0; i < 4; ++i) {
        EXPECT_EQ(ts[i].id, i);
        EXPECT_GE(ts[i].tx_time, i < 3 ? before : before4);
        EXPECT_LE(ts[i].tx_time, i < 3 ? after : after4);
    }
    auto none = client.read_tx_timestamps(ts);
    ASSERT_TRUE(none.has_value());
    EXPECT_EQ(*none, 0u);
    // The datagrams themselves arrived normally.
    RxBatch rx(4);
    EXPECT_EQ(receive_all(server, rx, 4), 4u);
}

// tx_timestamps_on_request: only the datagrams that ask are stamped, and only they take an id:
// 0, 1, 2 for the 2nd, 3rd and 5th of six, across two batches and send_to.
TEST_P(Loopback, TxTimestampsOnRequestOnlyForStampedDatagrams) {
    AddressFamily f = GetParam();
    UdpSocket server = must(UdpSocket::bind(SocketAddress::loopback(f, 0)));
    UdpSocket client = must(UdpSocket::client(f, {.tx_timestamps = true, .tx_timestamps_on_request = true}));
    ASSERT_TRUE(client.tx_timestamping());
    std::vector<std::vector<std::byte>> d;
    for (int i = 0; i < 6; ++i) d.push_back(payload(i));
    const SocketAddress to = server.local_address();
    std::array<TxSlot, 4> first{TxSlot{d[0], to, std::nullopt, false}, TxSlot{d[1], to, std::nullopt, true},
                                TxSlot{d[2], to, std::nullopt, true}, TxSlot{d[3], to, std::nullopt, false}};
    UnixNanos before = SystemClock().now();
    auto sent = client.send_batch(first);
    ASSERT_TRUE(sent.has_value()) << sent.error().what;
    ASSERT_EQ(*sent, 4u);
    EXPECT_EQ(client.next_tx_id(), 2u);
    std::array<TxSlot, 1> fifth{TxSlot{d[4], to, std::nullopt, true}};
    ASSERT_EQ(client.send_batch(fifth).value_or(0), 1u);
    ASSERT_TRUE(client.send_to(d[5], to).has_value());  // no stamp asked
    UnixNanos after = SystemClock().now();
    EXPECT_EQ(client.next_tx_id(), 3u);

    std::array<TxTimestamp, 8> ts{};
    std::size_t got = 0;
    while (got < 3) {
        auto ready = wait_readable(client.fd(), 1s);
        ASSERT_TRUE(ready.has_value() && *ready) << "no tx timestamp after " << got;
        auto n = client.read_tx_timestamps(std::span(ts).subspan(got));
        ASSERT_TRUE(n.has_value()) << n.error().what;
        got += *n;
    }
    for (std::uint32_t i = 0; i < 3; ++i) {
        EXPECT_EQ(ts[i].id, i);
        EXPECT_GE(ts[i].tx_time, before);
        EXPECT_LE(ts[i].tx_time, after);
    }
    auto ready = wait_readable(client.fd(), 50ms);  // nothing more: the other three had none
    ASSERT_TRUE(ready.has_value());
    EXPECT_FALSE(*ready);
    RxBatch rx(6);
    ASSERT_EQ(receive_all(server, rx, 6), 6u);
    for (std::size_t i = 0; i < 6; ++i)  // all arrived, in order, unchanged
        EXPECT_TRUE(std::equal(rx.slots[i].data().begin(), rx.slots[i].data().end(), d[i].begin())) << i;
}

TEST_P(Loopback, TruncatedDatagramIsFlagged) {
    AddressFamily f = GetParam();
    UdpSocket server = must(UdpSocket::bind(SocketAddress::loopback(f, 0)));
    UdpSocket client = must(UdpSocket::client(f));
    std::vector<std::byte> big(200, std::byte{7});
    ASSERT_TRUE(client.send_to(big, server.local_address()).has_value());
    RxBatch rx(1, 16);
    ASSERT_EQ(receive_all(server, rx, 1), 1u);
    EXPECT_TRUE(rx.slots[0].truncated);
    EXPECT_EQ(rx.slots[0].length, 16u);
}

TEST_P(Loopback, ConnectedClientSeesRefusal) {
    AddressFamily f = GetParam();
    // A port nobody listens on: bind, note the port, close.
    std::uint16_t port = must(UdpSocket::bind(SocketAddress::loopback(f, 0))).local_address().port();
    UdpSocket client = must(UdpSocket::client(f));
    ASSERT_TRUE(client.connect(SocketAddress::loopback(f, port)).has_value());
    EXPECT_EQ(client.local_address(), SocketAddress::loopback(f, client.local_address().port()));
    ASSERT_TRUE(client.send_to(payload(0), SocketAddress::loopback(f, port)).has_value());
    auto ready = wait_readable(client.fd(), 1s);
    ASSERT_TRUE(ready.has_value() && *ready);
    RxSlot slot;
    std::array<std::byte, 64> buf{};
    slot.buffer = buf;
    auto r = client.receive(slot);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().what, "connection refused");
    EXPECT_EQ(r.error().exit_code, EX_UNAVAILABLE);
}

INSTANTIATE_TEST_SUITE_P(Families, Loopback, ::testing::Values(AddressFamily::v4, AddressFamily::v6),
                         [](const auto& p) { return p.param == AddressFamily::v4 ? "IPv4" : "IPv6"; });

// A server on the wildcard answers from the address that was asked: 127.0.0.2, not 127.0.0.1.
TEST(UdpSocket, WildcardServerRepliesFromAskedAddress) {
    UdpSocket server = must(UdpSocket::bind(SocketAddress::any(AddressFamily::v4, 0)));
    UdpSocket client = must(UdpSocket::client(AddressFamily::v4));
    SocketAddress asked = SocketAddress::v4({std::byte{127}, std::byte{0}, std::byte{0}, std::byte{2}},
                                            server.local_address().port());
    ASSERT_TRUE(client.send_to(payload(1), asked).has_value());
    RxBatch rx(1);
    ASSERT_EQ(receive_all(server, rx, 1), 1u);
    ASSERT_TRUE(rx.slots[0].local.has_value());
    EXPECT_EQ(*rx.slots[0].local, asked);  // from IP_PKTINFO
    EXPECT_NE(rx.slots[0].ifindex, 0u);

    ASSERT_TRUE(server.send_to(payload(2), rx.slots[0].peer, rx.slots[0].local).has_value());
    RxBatch back(1);
    ASSERT_EQ(receive_all(client, back, 1), 1u);
    EXPECT_EQ(back.slots[0].peer, asked);

    // Without a source the kernel picks 127.0.0.1: the test above is not vacuous.
    ASSERT_TRUE(server.send_to(payload(3), rx.slots[0].peer).has_value());
    ASSERT_EQ(receive_all(client, back, 1), 1u);
    EXPECT_EQ(back.slots[0].peer, SocketAddress::loopback(AddressFamily::v4, asked.port()));
}

// A wildcard socket with on-request stamps: the source cmsg and the stamp cmsg together.
TEST(UdpSocket, WildcardSourceAndStampInOneDatagram) {
    UdpSocket server = must(UdpSocket::bind(SocketAddress::any(AddressFamily::v4, 0),
                                            {.tx_timestamps = true, .tx_timestamps_on_request = true}));
    UdpSocket client = must(UdpSocket::client(AddressFamily::v4));
    SocketAddress asked = SocketAddress::v4({std::byte{127}, std::byte{0}, std::byte{0}, std::byte{3}},
                                            server.local_address().port());
    ASSERT_TRUE(client.send_to(payload(1), asked).has_value());
    RxBatch rx(1);
    ASSERT_EQ(receive_all(server, rx, 1), 1u);
    std::vector<std::byte> reply = payload(2);
    std::array<TxSlot, 1> tx{TxSlot{reply, rx.slots[0].peer, rx.slots[0].local, true}};
    ASSERT_EQ(server.send_batch(tx).value_or(0), 1u);
    EXPECT_EQ(server.next_tx_id(), 1u);
    RxBatch back(1);
    ASSERT_EQ(receive_all(client, back, 1), 1u);
    EXPECT_EQ(back.slots[0].peer, asked);
    std::array<TxTimestamp, 2> ts{};
    auto ready = wait_readable(server.fd(), 1s);
    ASSERT_TRUE(ready.has_value() && *ready);
    auto n = server.read_tx_timestamps(ts);
    ASSERT_TRUE(n.has_value()) << n.error().what;
    ASSERT_EQ(*n, 1u);
    EXPECT_EQ(ts[0].id, 0u);
}

// The option reaches the kernel: a buffer asked for is granted doubled (socket(7)), which is
// not what a socket without the option gets (net.core.rmem_default).
TEST(UdpSocket, ReceiveBufferOption) {
    constexpr int kAsked = 48 * 1024;
    UdpSocket plain = must(UdpSocket::bind(SocketAddress::loopback(AddressFamily::v4, 0)));
    UdpSocket sized = must(UdpSocket::bind(SocketAddress::loopback(AddressFamily::v4, 0), {.receive_buffer = kAsked}));
    auto got = sized.receive_buffer_size();
    ASSERT_TRUE(got.has_value()) << got.error().what;
    EXPECT_EQ(*got, 2 * kAsked);
    auto dflt = plain.receive_buffer_size();
    ASSERT_TRUE(dflt.has_value()) << dflt.error().what;
    EXPECT_NE(*dflt, *got);
}

// A socket nobody reads, with the smallest buffer the kernel grants, overflows: the drops the
// load generator subtracts from its losses are counted from zero, one per datagram dropped.
TEST(UdpSocket, ReceiveDropsCountsWhatAFullBufferRefused) {
    UdpSocket full = must(UdpSocket::bind(SocketAddress::loopback(AddressFamily::v4, 0), SocketOptions{.receive_buffer = 1}));
    UdpSocket client = must(UdpSocket::client(AddressFamily::v4));
    auto before = full.receive_drops();
    ASSERT_TRUE(before.has_value()) << before.error().what;
    EXPECT_EQ(*before, 0u);
    constexpr int kSent = 200;
    for (int i = 0; i < kSent; ++i) ASSERT_TRUE(client.send_to(payload(0), full.local_address()).has_value());
    std::size_t kept = 0;
    RxSlot slot;
    std::array<std::byte, 64> buf{};
    slot.buffer = buf;
    for (;;) {
        auto got = full.receive(slot);
        ASSERT_TRUE(got.has_value()) << got.error().what;
        if (!*got) break;
        ++kept;
    }
    auto after = full.receive_drops();
    ASSERT_TRUE(after.has_value()) << after.error().what;
    EXPECT_GT(*after, 0u);
    EXPECT_EQ(*after + kept, static_cast<std::uint64_t>(kSent));
}

TEST(UdpSocket, WaitAnyReportsWhichIsReady) {
    UdpSocket a = must(UdpSocket::bind(SocketAddress::loopback(AddressFamily::v4, 0)));
    UdpSocket b = must(UdpSocket::bind(SocketAddress::loopback(AddressFamily::v4, 0)));
    UdpSocket client = must(UdpSocket::client(AddressFamily::v4));
    std::array<PollItem, 2> items{PollItem{.fd = a.fd()}, PollItem{.fd = b.fd()}};
    auto t0 = monotonic_now();
    auto none = wait_any(items, 20ms);
    ASSERT_TRUE(none.has_value());
    EXPECT_EQ(*none, 0u);
    EXPECT_GE(monotonic_now() - t0, 20'000'000);
    EXPECT_FALSE(items[0].readable || items[1].readable);
    ASSERT_TRUE(client.send_to(payload(0), b.local_address()).has_value());
    auto one = wait_any(items, 1s);
    ASSERT_TRUE(one.has_value());
    EXPECT_EQ(*one, 1u);
    EXPECT_FALSE(items[0].readable);
    EXPECT_TRUE(items[1].readable);
    EXPECT_FALSE(items[1].error);
}

TEST(UdpSocket, BothWildcardsOnOnePort) {
    UdpSocket v6 = must(UdpSocket::bind(SocketAddress::any(AddressFamily::v6, 0)));
    auto v4 = UdpSocket::bind(SocketAddress::any(AddressFamily::v4, v6.local_address().port()));
    ASSERT_TRUE(v4.has_value()) << v4.error().what;  // IPV6_V6ONLY makes room
    EXPECT_EQ(v4->local_address().port(), v6.local_address().port());
}

TEST(UdpSocket, ReusePort) {
    UdpSocket a = must(UdpSocket::bind(SocketAddress::loopback(AddressFamily::v4, 0), {.reuse_port = true}));
    SocketAddress where = a.local_address();
    auto b = UdpSocket::bind(where, {.reuse_port = true});
    EXPECT_TRUE(b.has_value());
    auto c = UdpSocket::bind(where);
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().exit_code, EX_OSERR);
    EXPECT_NE(c.error().what.find("Address already in use"), std::string::npos) << c.error().what;
}

TEST(UdpSocket, WithoutKernelTimestampsClockIsRead) {
    UdpSocket server = must(UdpSocket::bind(SocketAddress::loopback(AddressFamily::v4, 0), {.rx_timestamps = false}));
    UdpSocket client = must(UdpSocket::client(AddressFamily::v4));
    EXPECT_EQ(server.rx_timestamping(), RxTimestamping::none);
    UnixNanos before = SystemClock().now();
    ASSERT_TRUE(client.send_to(payload(0), server.local_address()).has_value());
    RxBatch rx(1);
    ASSERT_EQ(receive_all(server, rx, 1), 1u);
    UnixNanos after = SystemClock().now();
    EXPECT_FALSE(rx.slots[0].kernel_time);
    EXPECT_GE(rx.slots[0].rx_time, before);
    EXPECT_LE(rx.slots[0].rx_time, after);
}

TEST(UdpSocket, MoveTransfersTheFd) {
    UdpSocket a = must(UdpSocket::client(AddressFamily::v4));
    int fd = a.fd();
    UdpSocket b = std::move(a);
    EXPECT_EQ(b.fd(), fd);
    EXPECT_EQ(a.fd(), -1);  // NOLINT(bugprone-use-after-move): checking the moved-from state
    UdpSocket c = must(UdpSocket::client(AddressFamily::v6));
    c = std::move(b);
    EXPECT_EQ(c.fd(), fd);
    EXPECT_TRUE(c.send_to(payload(0), SocketAddress::loopback(AddressFamily::v4, 9)).has_value());
}

TEST(UdpSocket, WaitReadableTimesOut) {
    UdpSocket s = must(UdpSocket::client(AddressFamily::v4));
    auto t0 = monotonic_now();
    auto r = wait_readable(s.fd(), 20ms);
    auto waited = monotonic_now() - t0;
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(*r);
    EXPECT_GE(waited, 20'000'000);
}

// A dual-stack socket (v6_only false) on the IPv6 wildcard hears an IPv4 client, as a mapped
// address, and its reply reaches the client from the address the client asked.
TEST(UdpSocket, DualStackWildcardServesIpv4) {
    UdpSocket server = must(UdpSocket::bind(SocketAddress::any(AddressFamily::v6, 0), {.v6_only = false}));
    UdpSocket client = must(UdpSocket::client(AddressFamily::v4));
    SocketAddress asked = SocketAddress::v4({std::byte{127}, std::byte{0}, std::byte{0}, std::byte{3}},
                                            server.local_address().port());
    ASSERT_TRUE(client.send_to(payload(1), asked).has_value());
    RxBatch rx(1);
    ASSERT_EQ(receive_all(server, rx, 1), 1u);
    EXPECT_TRUE(rx.slots[0].peer.is_v4()) << rx.slots[0].peer.to_string();  // mapped: normalised
    ASSERT_TRUE(rx.slots[0].local.has_value());
    EXPECT_EQ(*rx.slots[0].local, asked);
    std::vector<std::byte> reply = payload(2);
    std::array<TxSlot, 1> tx{TxSlot{reply, rx.slots[0].peer, rx.slots[0].local}};
    ASSERT_EQ(server.send_batch(tx).value_or(0), 1u);
    RxBatch back(1);
    ASSERT_EQ(receive_all(client, back, 1), 1u);
    EXPECT_EQ(back.slots[0].peer, asked);

    // The default stays IPv6-only: the IPv4 wildcard of the same port can be bound beside it.
    UdpSocket v6 = must(UdpSocket::bind(SocketAddress::any(AddressFamily::v6, 0)));
    EXPECT_TRUE(UdpSocket::bind(SocketAddress::any(AddressFamily::v4, v6.local_address().port())).has_value());
}

// Steering by source address: whatever source port a client uses, its datagrams reach the same
// socket of the group, number hash(address) % size — for 127.0.0.N that is N % size.
TEST(UdpSocket, SteerBySourceAddressIgnoresThePort) {
    constexpr unsigned kGroup = 4;
    std::vector<UdpSocket> group;
    group.push_back(must(UdpSocket::bind(SocketAddress::loopback(AddressFamily::v4, 0), {.reuse_port = true})));
    SocketAddress where = group[0].local_address();
    for (unsigned i = 1; i < kGroup; ++i) group.push_back(must(UdpSocket::bind(where, {.reuse_port = true})));
    auto steered = group[0].steer_by_source_address(kGroup);
    ASSERT_TRUE(steered.has_value()) << steered.error().what;
    for (std::uint8_t last : {1, 2, 3, 4}) {
        SocketAddress from = SocketAddress::v4({std::byte{127}, std::byte{0}, std::byte{0}, std::byte{last}}, 0);
        for (int n = 0; n < 8; ++n) {  // a new source port each time
            UdpSocket client = must(UdpSocket::bind(from));
            ASSERT_TRUE(client.send_to(payload(1), where).has_value());
        }
        const unsigned target = last % kGroup;
        RxBatch rx(16);
        EXPECT_EQ(receive_all(group[target], rx, 8), 8u) << "127.0.0." << int(last);
        for (unsigned i = 0; i < kGroup; ++i) {  // all 8 arrived: nothing is left in flight
            if (i == target) continue;
            EXPECT_EQ(group[i].receive_batch(rx.slots).value_or(99), 0u) << "127.0.0." << int(last) << " socket " << i;
        }
    }
}

// hardware_timestamps on loopback, which has no NIC clock: the socket takes the flags, the
// software stamps still come for both directions, and no hardware stamp is invented.
TEST_P(Loopback, HardwareTimestampsOptionKeepsSoftwareStamps) {
    AddressFamily f = GetParam();
    UdpSocket server = must(UdpSocket::bind(SocketAddress::loopback(f, 0)));
    UdpSocket client = must(UdpSocket::client(f, {.tx_timestamps = true, .hardware_timestamps = true}));
    EXPECT_TRUE(client.hardware_timestamping());
    EXPECT_FALSE(server.hardware_timestamping());
    UdpSocket listener = must(UdpSocket::bind(SocketAddress::loopback(f, 0), {.hardware_timestamps = true}));
    wait_for_rx_stamps(listener, client);
    std::array<TxTimestamp, 64> old{};
    while (client.read_tx_timestamps(old).value_or(0) != 0) {
    }
    RxBatch drain(8);
    while (listener.receive_batch(drain.slots).value_or(0) != 0) {
    }

    const std::uint32_t id = client.next_tx_id();
    UnixNanos before = SystemClock().now();
    ASSERT_TRUE(client.send_to(payload(7), listener.local_address()).has_value());
    UnixNanos after = SystemClock().now();
    RxBatch rx(1);
    ASSERT_EQ(receive_all(listener, rx, 1), 1u);
    EXPECT_TRUE(rx.slots[0].kernel_time);
    EXPECT_EQ(rx.slots[0].hw_rx_time, 0);
    std::array<TxTimestamp, 4> ts{};
    auto ready = wait_readable(client.fd(), 1s);
    ASSERT_TRUE(ready.has_value() && *ready);
    auto n = client.read_tx_timestamps(ts);
    ASSERT_TRUE(n.has_value()) << n.error().what;
    ASSERT_EQ(*n, 1u);
    EXPECT_EQ(ts[0].id, id);
    EXPECT_GE(ts[0].tx_time, before);
    EXPECT_LE(ts[0].tx_time, after);
    EXPECT_EQ(ts[0].hw_tx_time, 0);
}
