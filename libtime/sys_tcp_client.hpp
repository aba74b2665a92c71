// TcpClient: one outgoing TCP connection with a deadline on every step, for request/response
// protocols over a stream (Roughtime over TCP, RFC 10049 §5). Nonblocking underneath; each call
// waits at most its timeout.
//
//   auto c = TcpClient::connect(peer, 1s);          // Error "connection refused" (EX_UNAVAILABLE),
//   c->send_all(request, 1s);                       //       "timed out" (EX_UNAVAILABLE), ...
//   std::array<std::byte, 12> head;
//   c->receive_exact(head, 1s);                     // fails on EOF before `head` is full
//
// Errors: Error{text, EX_UNAVAILABLE} for refusals, resets, timeouts and early EOF (the peer's
// doing); EX_OSERR for the rest.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>

#include "libtime/error.hpp"
#include "libtime/socket_address.hpp"

namespace timepipe {

class TcpClient {
public:
    static Result<TcpClient> connect(const SocketAddress& peer, std::chrono::nanoseconds timeout);

    TcpClient(TcpClient&& other) noexcept;
    TcpClient& operator=(TcpClient&& other) noexcept;
    TcpClient(const TcpClient&) = delete;
    TcpClient& operator=(const TcpClient&) = delete;
    ~TcpClient();

    int fd() const { return fd_; }

    Result<void> send_all(std::span<const std::byte> data, std::chrono::nanoseconds timeout);
    // Fills `into` completely, or fails ("connection closed" on EOF, "timed out").
    Result<void> receive_exact(std::span<std::byte> into, std::chrono::nanoseconds timeout);

private:
    explicit TcpClient(int fd) : fd_(fd) {}
    void close();
    int fd_ = -1;
};

}  // namespace timepipe
