#include "libtime/sys_tcp.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libtime/sys_socket.hpp"

namespace timepipe {

namespace {

Unexpected<Error> os_error(const char* call, int err) {
    int code = (err == EACCES || err == EPERM) ? EX_NOPERM : EX_OSERR;
    return fail(std::string(call) + ": " + std::strerror(err), code);
}

bool is_again(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

}  // namespace

TcpStream::TcpStream(TcpStream&& other) noexcept : fd_(std::exchange(other.fd_, -1)), peer_(other.peer_) {}

TcpStream& TcpStream::operator=(TcpStream&& other) noexcept {
    if (this != &other) {
        close_fd(fd_);
        fd_ = std::exchange(other.fd_, -1);
        peer_ = other.peer_;
    }
    return *this;
}

TcpStream::~TcpStream() { close_fd(fd_); }

Result<StreamIo> TcpStream::read_some(std::span<std::byte> into) {
    for (;;) {
        ssize_t n = ::recv(fd_, into.data(), into.size(), 0);
        if (n > 0) return StreamIo{.bytes = static_cast<std::size_t>(n)};
        if (n == 0) return StreamIo{.eof = true};
        if (errno == EINTR) continue;
        if (is_again(errno)) return StreamIo{.would_block = true};
        if (errno == ECONNRESET || errno == ETIMEDOUT) return StreamIo{.eof = true};
        return os_error("recv", errno);
    }
}

Result<StreamIo> TcpStream::write_some(std::span<const std::byte> data) {
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
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

Result<TcpListener> TcpListener::listen(const SocketAddress& local, int backlog) {
    int fd = ::socket(local.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return os_error("socket", errno);
    TcpListener l(fd);  // owns fd from here on
    int one = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) return os_error("SO_REUSEADDR", errno);
    if (local.is_v6() && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0)
        return os_error("IPV6_V6ONLY", errno);
    sockaddr_storage ss{};
    std::size_t len = sys::to_sockaddr(local, ss);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), static_cast<socklen_t>(len)) < 0)
        return os_error("bind", errno);
    if (::listen(fd, backlog) < 0) return os_error("listen", errno);
    socklen_t got = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &got) < 0) return os_error("getsockname", errno);
    l.local_ = sys::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), got).value_or(local);
    return l;
}

TcpListener::TcpListener(TcpListener&& other) noexcept : fd_(std::exchange(other.fd_, -1)), local_(other.local_) {}

TcpListener& TcpListener::operator=(TcpListener&& other) noexcept {
    if (this != &other) {
        close_fd(fd_);
        fd_ = std::exchange(other.fd_, -1);
        local_ = other.local_;
    }
    return *this;
}

TcpListener::~TcpListener() { close_fd(fd_); }

Result<std::optional<TcpStream>> TcpListener::accept() {
    for (;;) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
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

}  // namespace timepipe
