// TCP for protocols that frame their own messages on a stream (Roughtime, RFC 10049 §5: the same
// ROUGHTIM packets as on UDP).
//
// Servers: a nonblocking listener that accepts, and a stream that reads and writes what the
// kernel takes right now; the event loop (FdWatcher) says when.
//
//   auto l = TcpListener::listen(SocketAddress::any(AddressFamily::v6, 2002));
//   FdWatcher::create(loop, l->fd(), [&](FdEvents) {
//       while (auto c = l->accept(); c && *c) keep(std::move(**c));   // nullopt: none waiting
//   });
//   auto r = stream.read_some(buf);   // r->eof, r->would_block, r->bytes
//   auto w = stream.write_some(reply); // bytes taken; fewer than asked: the send buffer is full
//
// Errors: Error{"call: strerror text", EX_OSERR (EX_NOPERM for EACCES/EPERM)}.
//
// Clients: TcpClient, one outgoing connection with a deadline on every step, for request/response
// exchanges. Nonblocking underneath; each call waits at most its timeout.
//
//   auto c = TcpClient::connect(peer, 1s);          // Error "connection refused" (EX_UNAVAILABLE),
//   c->send_all(request, 1s);                       //       "timed out" (EX_UNAVAILABLE), ...
//   std::array<std::byte, 12> head;
//   c->receive_exact(head, 1s);                     // fails on EOF before `head` is full
//
// Errors: Error{text, EX_UNAVAILABLE} for refusals, resets, timeouts and early EOF (the peer's
// doing); otherwise as above.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>

#include "libtime/base/error.hpp"
#include "libtime/base/socket_address.hpp"

namespace timepipe {

namespace detail {
// Owns one socket descriptor: closed when it goes, handed on when moved.
class SocketFd {
public:
    SocketFd() = default;
    explicit SocketFd(int fd) : fd_(fd) {}
    SocketFd(SocketFd&& other) noexcept;
    SocketFd& operator=(SocketFd&& other) noexcept;
    SocketFd(const SocketFd&) = delete;
    SocketFd& operator=(const SocketFd&) = delete;
    ~SocketFd();

    int get() const { return fd_; }

private:
    int fd_ = -1;
};
}  // namespace detail

struct StreamIo {
    std::size_t bytes = 0;
    bool eof = false;          // the peer closed its side (read) or reset the connection
    bool would_block = false;  // nothing more right now
};

class TcpStream {
public:
    int fd() const { return fd_.get(); }
    const SocketAddress& peer() const { return peer_; }

    // Never blocks. A reset connection reads as eof.
    Result<StreamIo> read_some(std::span<std::byte> into);
    // Never blocks; bytes < data.size() when the send buffer is full. A reset or closed peer
    // (EPIPE, ECONNRESET) is eof. MSG_NOSIGNAL: never SIGPIPE.
    Result<StreamIo> write_some(std::span<const std::byte> data);
    // Ends the stream in order before it is closed: what was written still goes out, then FIN.
    // Input already queued is read and dropped first, so that closing does not turn into a
    // reset, which would make the peer lose answers still in flight. Never blocks.
    void finish();

private:
    friend class TcpListener;
    TcpStream(int fd, const SocketAddress& peer) : fd_(fd), peer_(peer) {}
    detail::SocketFd fd_;
    SocketAddress peer_;
};

class TcpListener {
public:
    // SO_REUSEADDR; IPv6 listeners are IPV6_V6ONLY (unless v6_only is false: dual stack), like
    // UdpSocket, so "::" and "0.0.0.0" can both be bound. Port 0: ephemeral (see local_address()).
    static Result<TcpListener> listen(const SocketAddress& local, int backlog = 128, bool v6_only = true);

    int fd() const { return fd_.get(); }
    const SocketAddress& local_address() const { return local_; }

    // A nonblocking connection, or nullopt when none is waiting (or it vanished before accept).
    Result<std::optional<TcpStream>> accept();

private:
    explicit TcpListener(int fd) : fd_(fd) {}
    detail::SocketFd fd_;
    SocketAddress local_;
};

class TcpClient {
public:
    static Result<TcpClient> connect(const SocketAddress& peer, std::chrono::nanoseconds timeout);

    int fd() const { return fd_.get(); }

    Result<void> send_all(std::span<const std::byte> data, std::chrono::nanoseconds timeout);
    // Fills `into` completely, or fails ("connection closed" on EOF, "timed out").
    Result<void> receive_exact(std::span<std::byte> into, std::chrono::nanoseconds timeout);
    // What has arrived, at least one octet, or 0 at EOF; "timed out" when nothing comes.
    Result<std::size_t> receive_some(std::span<std::byte> into, std::chrono::nanoseconds timeout);

private:
    explicit TcpClient(int fd) : fd_(fd) {}
    detail::SocketFd fd_;
};

}  // namespace timepipe
