#include "libtime/sys_tcp_client.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libtime/sys_socket.hpp"

namespace timepipe {
namespace {

using Clock = std::chrono::steady_clock;

Unexpected<Error> os_error(const char* call, int err) {
    switch (err) {
    case ECONNREFUSED: return fail("connection refused", EX_UNAVAILABLE);
    case ECONNRESET: return fail("connection reset", EX_UNAVAILABLE);
    case EPIPE: return fail("connection closed", EX_UNAVAILABLE);
    case ENETUNREACH:
    case EHOSTUNREACH: return fail(std::strerror(err), EX_UNAVAILABLE);
    case EACCES:
    case EPERM: return fail(std::string(call) + ": " + std::strerror(err), EX_NOPERM);
    default: return fail(std::string(call) + ": " + std::strerror(err), EX_OSERR);
    }
}

// Waits for `events` on fd until `deadline`; false when it passed.
Result<bool> wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, events, 0};
        timespec ts{static_cast<time_t>(left.count() / 1'000'000'000), static_cast<long>(left.count() % 1'000'000'000)};
        const int rc = ::ppoll(&p, 1, &ts, nullptr);
        if (rc < 0) {
            if (errno == EINTR) continue;
            return os_error("ppoll", errno);
        }
        if (rc > 0) return true;
    }
}

}  // namespace

Result<TcpClient> TcpClient::connect(const SocketAddress& peer, std::chrono::nanoseconds timeout) {
    const int family = peer.is_v4() ? AF_INET : AF_INET6;
    const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return os_error("socket", errno);
    TcpClient c(fd);  // owns fd from here on
    const int one = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) return os_error("setsockopt", errno);
    sockaddr_storage ss{};
    const std::size_t len = sys::to_sockaddr(peer, ss);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&ss), static_cast<socklen_t>(len)) < 0) {
        if (errno != EINPROGRESS) return os_error("connect", errno);
        auto ready = wait_for(fd, POLLOUT, Clock::now() + timeout);
        if (!ready) return Unexpected<Error>{ready.error()};
        if (!*ready) return fail("connect timed out", EX_UNAVAILABLE);
        int err = 0;
        socklen_t errlen = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0) return os_error("getsockopt", errno);
        if (err != 0) return os_error("connect", err);
    }
    return c;
}

TcpClient::TcpClient(TcpClient&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

TcpClient& TcpClient::operator=(TcpClient&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

TcpClient::~TcpClient() { close(); }

void TcpClient::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

Result<void> TcpClient::send_all(std::span<const std::byte> data, std::chrono::nanoseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!data.empty()) {
        const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return os_error("send", errno);
            auto ready = wait_for(fd_, POLLOUT, deadline);
            if (!ready) return Unexpected<Error>{ready.error()};
            if (!*ready) return fail("send timed out", EX_UNAVAILABLE);
            continue;
        }
        data = data.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

Result<void> TcpClient::receive_exact(std::span<std::byte> into, std::chrono::nanoseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!into.empty()) {
        const ssize_t n = ::recv(fd_, into.data(), into.size(), 0);
        if (n == 0) return fail("connection closed", EX_UNAVAILABLE);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return os_error("recv", errno);
            auto ready = wait_for(fd_, POLLIN, deadline);
            if (!ready) return Unexpected<Error>{ready.error()};
            if (!*ready) return fail("timed out", EX_UNAVAILABLE);
            continue;
        }
        into = into.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

}  // namespace timepipe
