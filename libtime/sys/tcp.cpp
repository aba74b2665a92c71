#include "libtime/sys/tcp.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libtime/sys/socket.hpp"
#include "libtime/sys/os_error.hpp"

namespace timepipe {

namespace {

using Steady = std::chrono::steady_clock;

// For clients: what the peer or the network did is EX_UNAVAILABLE, in words of its own.
Unexpected<Error> peer_error(const char* call, int err) {
    switch (err) {
    case ECONNREFUSED: return fail("connection refused", EX_UNAVAILABLE);
    case ECONNRESET: return fail("connection reset", EX_UNAVAILABLE);
    case EPIPE: return fail("connection closed", EX_UNAVAILABLE);
    case ENETUNREACH:
    case EHOSTUNREACH: return fail(std::strerror(err), EX_UNAVAILABLE);
    default: return os_error(call, err);
    }
}

// A nonblocking, close-on-exec TCP socket of the address's family.
int stream_socket(const SocketAddress& addr) {
    return ::socket(addr.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
}

// Waits for `events` on fd until `deadline`; false when it passed.
Result<bool> wait_for(int fd, short events, Steady::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Steady::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, events, 0};
        timespec ts{static_cast<time_t>(left.count() / 1'000'000'000), static_cast<long>(left.count() % 1'000'000'000)};
        const int rc = ::ppoll(&p, 1, &ts, nullptr);
        if (rc < 0) {
            if (errno == EINTR) continue;
            return peer_error("ppoll", errno);
        }
        if (rc > 0) return true;
    }
}

}  // namespace

namespace detail {

SocketFd::SocketFd(SocketFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

SocketFd& SocketFd::operator=(SocketFd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

SocketFd::~SocketFd() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace detail

Result<StreamIo> TcpStream::read_some(std::span<std::byte> into) {
    for (;;) {
        ssize_t n = ::recv(fd(), into.data(), into.size(), 0);
        if (n > 0) return StreamIo{.bytes = static_cast<std::size_t>(n)};
        if (n == 0) return StreamIo{.eof = true};
        if (errno == EINTR) continue;
        if (is_again(errno)) return StreamIo{.would_block = true};
        if (errno == ECONNRESET || errno == ETIMEDOUT) return StreamIo{.eof = true};
        return os_error("recv", errno);
    }
}

void TcpStream::finish() {
    ::shutdown(fd(), SHUT_WR);
    std::byte sink[4096];
    for (int k = 0; k < 64; ++k) {  // bounded: a peer that keeps sending is reset after all
        ssize_t n = ::recv(fd(), sink, sizeof sink, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
    }
}

Result<StreamIo> TcpStream::write_some(std::span<const std::byte> data) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::send(fd(), data.data() + done, data.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && is_again(errno)) return StreamIo{.bytes = done, .would_block = true};
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return StreamIo{.bytes = done, .eof = true};
        return os_error("send", n < 0 ? errno : EIO);
    }
    return StreamIo{.bytes = done};
}

Result<TcpListener> TcpListener::listen(const SocketAddress& local, int backlog, bool v6_only) {
    int fd = stream_socket(local);
    if (fd < 0) return os_error("socket", errno);
    TcpListener l(fd);  // owns fd from here on
    int one = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) return os_error("SO_REUSEADDR", errno);
    int v6 = v6_only ? 1 : 0;
    if (local.is_v6() && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof v6) < 0)
        return os_error("IPV6_V6ONLY", errno);
    sockaddr_storage ss{};
    std::size_t len = sys::to_sockaddr(local, ss);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), static_cast<socklen_t>(len)) < 0)
        return os_error("bind", errno);
    if (::listen(fd, backlog) < 0) return os_error("listen", errno);
    auto bound = sys::local_address(fd);
    if (!bound) return Unexpected<Error>{bound.error()};
    l.local_ = bound->value_or(local);
    return l;
}

Result<std::optional<TcpStream>> TcpListener::accept() {
    for (;;) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        int fd = ::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            auto peer = sys::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
            return std::optional<TcpStream>(TcpStream(fd, peer.value_or(SocketAddress())));
        }
        if (errno == EINTR) continue;
        // Gone before we took it, or nothing waiting: not an error of ours.
        if (is_again(errno) || errno == ECONNABORTED || errno == EPROTO) return std::optional<TcpStream>();
        return os_error("accept", errno);
    }
}

Result<TcpClient> TcpClient::connect(const SocketAddress& peer, std::chrono::nanoseconds timeout) {
    const int fd = stream_socket(peer);
    if (fd < 0) return peer_error("socket", errno);
    TcpClient c(fd);  // owns fd from here on
    const int one = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) return peer_error("setsockopt", errno);
    sockaddr_storage ss{};
    const std::size_t len = sys::to_sockaddr(peer, ss);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&ss), static_cast<socklen_t>(len)) < 0) {
        if (errno != EINPROGRESS) return peer_error("connect", errno);
        auto ready = wait_for(fd, POLLOUT, Steady::now() + timeout);
        if (!ready) return Unexpected<Error>{ready.error()};
        if (!*ready) return fail("connect timed out", EX_UNAVAILABLE);
        int err = 0;
        socklen_t errlen = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0) return peer_error("getsockopt", errno);
        if (err != 0) return peer_error("connect", err);
    }
    return c;
}

Result<void> TcpClient::send_all(std::span<const std::byte> data, std::chrono::nanoseconds timeout) {
    const auto deadline = Steady::now() + timeout;
    while (!data.empty()) {
        const ssize_t n = ::send(fd(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (!is_again(errno)) return peer_error("send", errno);
            auto ready = wait_for(fd(), POLLOUT, deadline);
            if (!ready) return Unexpected<Error>{ready.error()};
            if (!*ready) return fail("send timed out", EX_UNAVAILABLE);
            continue;
        }
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

Result<void> TcpClient::receive_exact(std::span<std::byte> into, std::chrono::nanoseconds timeout) {
    const auto deadline = Steady::now() + timeout;
    while (!into.empty()) {
        const ssize_t n = ::recv(fd(), into.data(), into.size(), 0);
        if (n == 0) return fail("connection closed", EX_UNAVAILABLE);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (!is_again(errno)) return peer_error("recv", errno);
            auto ready = wait_for(fd(), POLLIN, deadline);
            if (!ready) return Unexpected<Error>{ready.error()};
            if (!*ready) return fail("timed out", EX_UNAVAILABLE);
            continue;
        }
        into = into.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

Result<std::size_t> TcpClient::receive_some(std::span<std::byte> into, std::chrono::nanoseconds timeout) {
    const auto deadline = Steady::now() + timeout;
    for (;;) {
        const ssize_t n = ::recv(fd(), into.data(), into.size(), 0);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno == EINTR) continue;
        if (!is_again(errno)) return peer_error("recv", errno);
        auto ready = wait_for(fd(), POLLIN, deadline);
        if (!ready) return Unexpected<Error>{ready.error()};
        if (!*ready) return fail("timed out", EX_UNAVAILABLE);
    }
}

}  // namespace timepipe
