#include "libtime/sys/record_input.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace timepipe {
namespace {

// The descriptor systemd passed, -1 when none is ours.
Result<int> listen_fd() {
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    if (!pid || !fds) return -1;
    if (std::strtoll(pid, nullptr, 10) != static_cast<long long>(::getpid())) return -1;
    long n = std::strtol(fds, nullptr, 10);
    if (n < 1) return -1;
    if (n > 1) return fail("LISTEN_FDS: " + std::to_string(n) + " descriptors passed, one FIFO expected", EX_USAGE);
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    return 3;  // SD_LISTEN_FDS_START
}

}  // namespace

Result<RecordInput> open_record_input(const std::string& path) {
    if (path == "-") return RecordInput{};
    if (path.empty()) {
        auto lfd = listen_fd();
        if (!lfd) return Unexpected<Error>{lfd.error()};
        if (*lfd < 0) return RecordInput{};
        return RecordInput{*lfd, "LISTEN_FDS"};
    }
    struct stat sb {};
    const bool fifo = ::stat(path.c_str(), &sb) == 0 && S_ISFIFO(sb.st_mode);
    const int fd = ::open(path.c_str(), (fifo ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        return fail(path + ": " + std::strerror(err), err == ENOENT || err == EACCES ? EX_NOINPUT : EX_IOERR);
    }
    return RecordInput{fd, path};
}

Result<std::optional<std::size_t>> read_within(int fd, std::span<std::byte> buf, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, timeout_ms);
    if (n < 0) {
        if (errno == EINTR) return std::optional<std::size_t>{};
        return fail(std::string("poll: ") + std::strerror(errno), EX_OSERR);
    }
    if (n == 0) return std::optional<std::size_t>{};
    const ssize_t got = ::read(fd, buf.data(), buf.size());
    if (got < 0) {
        if (errno == EINTR || errno == EAGAIN) return std::optional<std::size_t>{};
        return fail(std::strerror(errno), EX_IOERR);
    }
    return std::optional<std::size_t>{static_cast<std::size_t>(got)};
}

}  // namespace timepipe
