// A Unix datagram socket: what chrony's SOCK refclock listens on (chronyd binds the path, we
// send to it). Blocking sends, receives with a deadline.
//
//   auto s = UnixDatagramSocket::client();
//   s->send_to("/run/chrony.sock", bytes);   // EX_UNAVAILABLE: nobody bound to the path
//   auto srv = UnixDatagramSocket::bind(path);   // a receiver (tests)
//   auto n = srv->receive(buf, 1000);            // nullopt: nothing within 1000 ms
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "libtime/base/error.hpp"

namespace timepipe {

class UnixDatagramSocket {
public:
    static Result<UnixDatagramSocket> client();
    // Binds `path` (an existing socket file there is an error, EX_CANTCREAT), removed again on
    // destruction.
    static Result<UnixDatagramSocket> bind(const std::string& path);

    UnixDatagramSocket(UnixDatagramSocket&& other) noexcept;
    UnixDatagramSocket& operator=(UnixDatagramSocket&& other) noexcept;
    UnixDatagramSocket(const UnixDatagramSocket&) = delete;
    UnixDatagramSocket& operator=(const UnixDatagramSocket&) = delete;
    ~UnixDatagramSocket();

    // One datagram to the socket bound at `path`. Errors: EX_USAGE (path longer than
    // sun_path), EX_UNAVAILABLE (no such socket, or nobody bound to it: "connection refused"),
    // EX_TEMPFAIL (the receiver's queue is full), EX_OSERR otherwise.
    Result<void> send_to(const std::string& path, std::span<const std::byte> datagram);
    // Waits up to `timeout_ms` (-1: for ever); nullopt when nothing came. A datagram longer than
    // `buf` is cut to it; the size returned is the datagram's own (so callers see the cut).
    Result<std::optional<std::size_t>> receive(std::span<std::byte> buf, int timeout_ms);

    int fd() const { return fd_; }

private:
    UnixDatagramSocket(int fd, std::string bound) : fd_(fd), bound_(std::move(bound)) {}
    int fd_ = -1;
    std::string bound_;  // path to unlink on destruction
};

}  // namespace timepipe
