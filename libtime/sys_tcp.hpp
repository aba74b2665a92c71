// Nonblocking TCP for servers whose protocol frames its own messages on a stream (Roughtime,
// RFC 10049 §5: the same ROUGHTIM packets as on UDP). A listener that accepts, and a stream that
// reads and writes what the kernel takes right now; the event loop (FdWatcher) says when.
//
//   auto l = TcpListener::listen(SocketAddress::any(AddressFamily::v6, 2002));
//   FdWatcher::create(loop, l->fd(), [&](FdEvents) {
//       while (auto c = l->accept(); c && *c) keep(std::move(**c));   // nullopt: none waiting
//   });
//   auto r = stream.read_some(buf);   // r->eof, r->would_block, r->bytes
//   auto w = stream.write_some(reply); // bytes taken; fewer than asked: the send buffer is full
//
// Errors: Error{"call: strerror text", EX_OSERR (EX_NOPERM for EACCES/EPERM)}.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "libtime/error.hpp"
#include "libtime/socket_address.hpp"

namespace timepipe {

struct StreamIo {
    std::size_t bytes = 0;
    bool eof = false;          // the peer closed its side (read) or reset the connection
    bool would_block = false;  // nothing more right now
};

class TcpStream {
public:
    TcpStream(TcpStream&& other) noexcept;
    TcpStream& operator=(TcpStream&& other) noexcept;
    TcpStream(const TcpStream&) = delete;
    TcpStream& operator=(const TcpStream&) = delete;
    ~TcpStream();

    int fd() const { return fd_; }
    const SocketAddress& peer() const { return peer_; }

    // Never blocks. A reset connection reads as eof.
    Result<StreamIo> read_some(std::span<std::byte> into);
    // Never blocks; bytes < data.size() when the send buffer is full. A reset or closed peer
    // (EPIPE, ECONNRESET) is eof. MSG_NOSIGNAL: never SIGPIPE.
    Result<StreamIo> write_some(std::span<const std::byte> data);

private:
    friend class TcpListener;
    TcpStream(int fd, const SocketAddress& peer) : fd_(fd), peer_(peer) {}
    int fd_ = -1;
    SocketAddress peer_;
};

class TcpListener {
public:
    // SO_REUSEADDR; IPv6 listeners are IPV6_V6ONLY, like UdpSocket, so "::" and "0.0.0.0" can
    // both be bound. Port 0: ephemeral (see local_address()).
    static Result<TcpListener> listen(const SocketAddress& local, int backlog = 128);

    TcpListener(TcpListener&& other) noexcept;
    TcpListener& operator=(TcpListener&& other) noexcept;
    TcpListener(const TcpListener&) = delete;
    TcpListener& operator=(const TcpListener&) = delete;
    ~TcpListener();

    int fd() const { return fd_; }
    const SocketAddress& local_address() const { return local_; }

    // A nonblocking connection, or nullopt when none is waiting (or it vanished before accept).
    Result<std::optional<TcpStream>> accept();

private:
    explicit TcpListener(int fd) : fd_(fd) {}
    int fd_ = -1;
    SocketAddress local_;
};

}  // namespace timepipe
