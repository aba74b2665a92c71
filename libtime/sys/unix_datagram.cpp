#include "libtime/sys/unix_datagram.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <utility>
#include "libtime/sys/unix_address.hpp"

namespace timepipe {

namespace {

Error unix_error(const std::string& what, int e, int code = EX_OSERR) { return Error{what + ": " + std::strerror(e), code}; }

}  // namespace

Result<UnixDatagramSocket> UnixDatagramSocket::client() {
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Unexpected<Error>{unix_error("socket", errno)};
    return UnixDatagramSocket(fd, "");
}

Result<UnixDatagramSocket> UnixDatagramSocket::bind(const std::string& path) {
    auto a = unix_address(path);
    if (!a) return Unexpected<Error>{a.error()};
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Unexpected<Error>{unix_error("socket", errno)};
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&*a), sizeof *a) != 0) {
        const int e = errno;
        ::close(fd);
        return Unexpected<Error>{unix_error(path, e, e == EADDRINUSE || e == EACCES || e == ENOENT ? EX_CANTCREAT : EX_OSERR)};
    }
    return UnixDatagramSocket(fd, path);
}

UnixDatagramSocket::UnixDatagramSocket(UnixDatagramSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), bound_(std::move(other.bound_)) {
    other.bound_.clear();
}

UnixDatagramSocket& UnixDatagramSocket::operator=(UnixDatagramSocket&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        if (!bound_.empty()) ::unlink(bound_.c_str());
        fd_ = std::exchange(other.fd_, -1);
        bound_ = std::move(other.bound_);
        other.bound_.clear();
    }
    return *this;
}

UnixDatagramSocket::~UnixDatagramSocket() {
    if (fd_ >= 0) ::close(fd_);
    if (!bound_.empty()) ::unlink(bound_.c_str());
}

Result<void> UnixDatagramSocket::send_to(const std::string& path, std::span<const std::byte> datagram) {
    auto a = unix_address(path);
    if (!a) return Unexpected<Error>{a.error()};
    for (;;) {
        const ssize_t n = ::sendto(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL,
                                   reinterpret_cast<const sockaddr*>(&*a), sizeof *a);
        if (n >= 0) return {};
        const int e = errno;
        if (e == EINTR) continue;
        if (e == ENOENT || e == ECONNREFUSED || e == ENOTSOCK)
            return Unexpected<Error>{unix_error(path, e, EX_UNAVAILABLE)};
        if (e == EAGAIN || e == ENOBUFS) return Unexpected<Error>{unix_error(path, e, EX_TEMPFAIL)};
        if (e == EACCES || e == EPERM) return Unexpected<Error>{unix_error(path, e, EX_NOPERM)};
        return Unexpected<Error>{unix_error(path, e)};
    }
}

Result<std::optional<std::size_t>> UnixDatagramSocket::receive(std::span<std::byte> buf, int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    for (;;) {
        const int r = ::poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return Unexpected<Error>{unix_error("poll", errno)};
        if (r == 0) return std::optional<std::size_t>{};
        break;
    }
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), MSG_TRUNC);
    if (n < 0) return Unexpected<Error>{unix_error("recv", errno)};
    return std::optional<std::size_t>{static_cast<std::size_t>(n)};
}

}  // namespace timepipe
