// UdpSocket: a nonblocking UDP socket that reports, for every datagram, the kernel's receive
// time and the local address it was sent to, and moves datagrams in batches.
//
//   auto s = UdpSocket::bind(SocketAddress::any(AddressFamily::v6, 123), {.reuse_port = true});
//   std::array<std::byte, 1024> bufs[32];  RxSlot rx[32];   // rx[i].buffer = bufs[i]
//   auto n = s->receive_batch(rx);        // 0: nothing waiting (never blocks)
//   for (i < *n) { rx[i].peer, rx[i].local, rx[i].rx_time, rx[i].kernel_time, rx[i].data() }
//   TxSlot tx{.data = reply, .peer = rx[i].peer, .source = rx[i].local};
//   s->send_batch(std::span(&tx, 1));
//
// Client: UdpSocket::client(AddressFamily::v4), then send_to()/wait_readable()/receive().
//
// Transmit timestamps (SocketOptions::tx_timestamps): the kernel numbers every datagram it
// stamps, 0, 1, 2, … (SOF_TIMESTAMPING_OPT_ID); next_tx_id() is the number the next stamped
// one gets. read_tx_timestamps() returns (id, time) pairs from the error queue. With
// tx_timestamps_on_request only the datagrams whose TxSlot::want_tx_timestamp is set are
// stamped (a SO_TIMESTAMPING cmsg on each): the others cost nothing, and only stamped ones
// take an id (the kernel counts stamped datagrams only; checked on Linux 6.18). We ask for
// OPT_TSONLY: the kernel does not loop the packet back, so nothing has to be parsed out of
// link-layer headers, timestamps are delivered even when net.core.tstamp_allow_data=0, and the
// receive buffer is not charged a packet copy. The sender keeps (id → peer, packet) itself.
// The error queue makes the fd report POLLERR, not POLLIN: wait_readable() and FdWatcher
// (libtime/sys/event_loop.hpp) both wake on it.
//
// One thread at a time per socket. Errors: Error{strerror text, EX_OSERR}; EAGAIN is not one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "libtime/base/error.hpp"
#include "libtime/base/socket_address.hpp"
#include "libtime/base/unix_time.hpp"

struct sockaddr;
struct sockaddr_storage;

namespace timepipe {

struct SocketOptions {
    bool reuse_port = false;     // SO_REUSEPORT: several servers share one port
    // IPv6 sockets: IPV6_V6ONLY, so "::" and "0.0.0.0" can be bound side by side. false: a
    // dual-stack socket, IPv4 peers appear as ::ffff:a.b.c.d (and replies go back to them).
    bool v6_only = true;
    bool rx_timestamps = true;   // kernel receive time of each datagram
    bool tx_timestamps = false;  // kernel transmit time, see read_tx_timestamps()
    // With tx_timestamps: stamp only the datagrams that ask (TxSlot::want_tx_timestamp).
    bool tx_timestamps_on_request = false;
    // Destination address of each datagram (RxSlot::local) and replies from it. Only wildcard
    // binds need IP_PKTINFO for that: a socket bound to one address fills RxSlot::local with
    // it and sends from it without any control message.
    bool pktinfo = true;
    int receive_buffer = 0;      // SO_RCVBUF in bytes (capped by net.core.rmem_max); 0: default
    // Also ask for the NIC's stamps (SOF_TIMESTAMPING_{RX,TX}_HARDWARE | RAW_HARDWARE, and
    // OPT_TX_SWHW so the software TX stamp still comes): RxSlot::hw_rx_time and
    // TxTimestamp::hw_tx_time. They arrive only if the interface offers them and someone
    // enabled them on it (SIOCSHWTSTAMP, as ptp4l or chronyd's hwtimestamp do); this socket
    // never changes the interface. With it, read_tx_timestamps() may return an entry with only
    // hw_tx_time set (tx_time 0): the two stamps of one datagram come as separate entries.
    bool hardware_timestamps = false;
};

struct RxSlot {
    std::span<std::byte> buffer;   // in: storage the caller owns
    std::size_t length = 0;        // out: bytes received
    bool truncated = false;        // the datagram was longer than buffer
    SocketAddress peer;            // who sent it
    std::optional<SocketAddress> local;  // address it was sent to (with our port), if known
    std::uint32_t ifindex = 0;     // interface it arrived on (wildcard binds), 0 if unknown
    UnixNanos rx_time = 0;         // CLOCK_REALTIME
    bool kernel_time = false;      // true: the kernel's stamp; false: a clock read after recv
    UnixNanos hw_rx_time = 0;      // SocketOptions::hardware_timestamps: the NIC's stamp; 0: none

    std::span<const std::byte> data() const { return buffer.first(length); }
};

struct TxSlot {
    std::span<const std::byte> data;
    SocketAddress peer;
    // Send from this address (a reply from the address that was asked on a wildcard socket).
    // Its port is ignored; an IPv6 scope_id selects the interface.
    std::optional<SocketAddress> source;
    // With SocketOptions::tx_timestamps_on_request: ask for this datagram's transmit time.
    bool want_tx_timestamp = false;
};

struct TxTimestamp {
    std::uint32_t id = 0;   // the datagram's number, see next_tx_id()
    UnixNanos tx_time = 0;  // CLOCK_REALTIME, software stamp taken as the packet left the stack
    UnixNanos hw_tx_time = 0;  // SocketOptions::hardware_timestamps: the NIC's stamp; 0: none
};

// What the kernel granted; options may be refused on older kernels.
enum class RxTimestamping : std::uint8_t { none, timestampns, timestamping };

class UdpSocket {
public:
    // Bound to `local` (port 0: ephemeral). IPv6 sockets are IPV6_V6ONLY unless
    // options.v6_only is false. Binding a port below 1024 without the privilege says so:
    // "bind: Permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)", EX_NOPERM.
    static Result<UdpSocket> bind(const SocketAddress& local, const SocketOptions& options = {});
    // Bound to the wildcard of `family`, ephemeral port.
    static Result<UdpSocket> client(AddressFamily family, const SocketOptions& options = {});

    UdpSocket(UdpSocket&& other) noexcept;
    UdpSocket& operator=(UdpSocket&& other) noexcept;
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;
    ~UdpSocket();

    int fd() const { return fd_; }
    AddressFamily family() const { return family_; }
    SocketAddress local_address() const { return local_; }
    RxTimestamping rx_timestamping() const { return rx_ts_; }
    bool tx_timestamping() const { return tx_ts_; }
    bool hardware_timestamping() const { return hw_ts_; }  // SocketOptions::hardware_timestamps granted
    // The receive buffer the kernel granted (SO_RCVBUF as getsockopt reports it: socket(7)
    // doubles the size asked for, capped by net.core.rmem_max).
    Result<int> receive_buffer_size() const;
    // Datagrams the kernel dropped on their way into this socket since it was made (a full
    // receive buffer, mostly): SO_MEMINFO's SK_MEMINFO_DROPS, the drops column of /proc/net/udp.
    Result<std::uint64_t> receive_drops() const;

    // Only datagrams from `peer` are received afterwards, and ICMP errors become
    // Error{"connection refused", EX_UNAVAILABLE} on the next receive.
    Result<void> connect(const SocketAddress& peer);

    // Fills the first N slots, returns N; 0 when nothing is waiting. Never blocks.
    Result<std::size_t> receive_batch(std::span<RxSlot> slots);
    Result<bool> receive(RxSlot& slot);  // receive_batch of one: false when nothing is waiting

    // Sends the leading slots, returns how many went. Fewer than slots.size(): the socket
    // buffer is full, or the next slot fails — call again with the rest to learn which.
    Result<std::size_t> send_batch(std::span<const TxSlot> slots);
    Result<void> send_to(std::span<const std::byte> data, const SocketAddress& peer,
                         const std::optional<SocketAddress>& source = std::nullopt);

    // For a socket bound with reuse_port, after every socket of its group is bound: the kernel
    // hands each datagram to socket number hash(source) % group_size of the group (the order
    // they were bound in), hashing the IPv4 source address or the /64 of an IPv6 one (an
    // IPv4 client of a dual-stack socket is hashed as IPv4). So a client that changes its
    // source port, as chronyd does on every request, always reaches the same socket, where
    // default SO_REUSEPORT hashes ports too. A classic BPF program
    // (SO_ATTACH_REUSEPORT_CBPF, Linux 4.5).
    Result<void> steer_by_source_address(unsigned group_size);

    // The OPT_ID the kernel gives the next stamped datagram (when tx_timestamping()).
    std::uint32_t next_tx_id() const { return next_tx_id_; }
    // Drains up to slots.size() transmit timestamps from the error queue; 0 when none waiting.
    Result<std::size_t> read_tx_timestamps(std::span<TxTimestamp> slots);

private:
    UdpSocket(int fd, AddressFamily family) : fd_(fd), family_(family) {}
    Result<void> configure(const SocketOptions& options);

    int fd_ = -1;
    AddressFamily family_ = AddressFamily::v4;
    SocketAddress local_;
    RxTimestamping rx_ts_ = RxTimestamping::none;
    bool tx_ts_ = false;
    bool tx_on_request_ = false;
    bool hw_ts_ = false;
    bool pktinfo_ = false;       // IP_PKTINFO is on: RxSlot::local from the kernel
    bool local_known_ = false;   // bound to one address: RxSlot::local is local_
    bool wildcard_ = false;      // bound to the wildcard: TxSlot::source is used
    std::uint32_t next_tx_id_ = 0;
};

// Why this host cannot make IPv6 sockets (a kernel without IPv6, or booted with ipv6.disable=1:
// socket(AF_INET6) fails with EAFNOSUPPORT), or nullopt when it can.
std::optional<std::string> ipv6_unavailable();

// Waits until fd is readable or has an error-queue message (poll(2): POLLIN or POLLERR).
// false: the timeout passed, or a signal arrived (check your own deadline and flags).
Result<bool> wait_readable(int fd, std::chrono::nanoseconds timeout);

// The same for several fds at once: sets `readable` (POLLIN) and `error` (POLLERR: the error
// queue) on each, and returns how many are ready; 0: the timeout passed or a signal arrived.
struct PollItem {
    int fd = -1;
    bool readable = false;
    bool error = false;
};
Result<std::size_t> wait_any(std::span<PollItem> items, std::chrono::nanoseconds timeout);

// For libtime/sys/ only: conversion to and from the kernel's address structures.
namespace sys {
std::optional<SocketAddress> from_sockaddr(const ::sockaddr* sa, std::size_t length);
// Returns the length used in `out`.
std::size_t to_sockaddr(const SocketAddress& addr, ::sockaddr_storage& out);
// The address the kernel gave `fd` (getsockname): after bind() the port it chose for port 0,
// after connect() the source address. nullopt: a family we do not handle.
Result<std::optional<SocketAddress>> local_address(int fd);
}  // namespace sys

}  // namespace timepipe
