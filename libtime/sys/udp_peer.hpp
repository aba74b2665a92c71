// A connected UDP socket to one peer, watched from an event loop: only that peer's datagrams
// come in, each with its receive time (the kernel's stamp when it gives one), the kernel's
// transmit times of what went out, and the errors the kernel reports for the peer (ICMP port
// unreachable and friends) as they happen.
//
//   auto peer = UdpPeer::open(loop, server, {
//       .on_datagram = [&](std::span<const std::byte> d, UnixNanos rx) { ... },
//       .on_tx_time = [&](std::uint32_t id, UnixNanos tx) { if (id == sent_id) ... },
//       .on_error = [&](const Error& e) { /* this try failed */ }});
//   std::uint32_t sent_id = (*peer)->next_tx_id();
//   (*peer)->send(request);
//   (*peer)->stop();                  // no more callbacks
//
// At most 64 datagrams per wake-up, so a flood cannot starve the loop; truncated ones are
// dropped. Not movable (the loop's callback points to it): open() gives a unique_ptr.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "libtime/base/error.hpp"
#include "libtime/base/socket_address.hpp"
#include "libtime/base/unix_time.hpp"
#include "libtime/sys/event_loop.hpp"
#include "libtime/sys/socket.hpp"

namespace timepipe {

class UdpPeer {
public:
    struct Callbacks {
        std::function<void(std::span<const std::byte> data, UnixNanos rx_time)> on_datagram;
        std::function<void(std::uint32_t tx_id, UnixNanos tx_time)> on_tx_time;
        std::function<void(const Error& e)> on_error;
    };

    static Result<std::unique_ptr<UdpPeer>> open(EventLoop& loop, const SocketAddress& peer, Callbacks callbacks);
    UdpPeer(const UdpPeer&) = delete;
    UdpPeer& operator=(const UdpPeer&) = delete;

    // The id on_tx_time will carry for the next send().
    std::uint32_t next_tx_id() const { return socket_.next_tx_id(); }
    Result<void> send(std::span<const std::byte> data) { return socket_.send_to(data, peer_); }
    // No more callbacks, from now on (also from inside one).
    void stop();

private:
    UdpPeer(UdpSocket socket, const SocketAddress& peer, Callbacks callbacks)
        : socket_(std::move(socket)), peer_(peer), callbacks_(std::move(callbacks)) {}
    void on_events();

    UdpSocket socket_;
    SocketAddress peer_;
    Callbacks callbacks_;
    std::optional<FdWatcher> watcher_;
    bool stopped_ = false;
};

}  // namespace timepipe
