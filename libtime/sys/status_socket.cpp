#include "libtime/sys/status_socket.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <time.h>
#include <unistd.h>
#include "libtime/sys/unix_address.hpp"

namespace timepipe {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

Unexpected<Error> os_fail(const std::string& what, int e, int code = EX_OSERR) {
    return fail(what + ": " + std::strerror(e), code);
}

int connect_unix(int fd, const sockaddr_un& a) {
    return ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

// A socket file at `path` that a live process answers is "in use"; a stale one is removed.
Result<void> clear_stale(const std::string& path, const sockaddr_un& a) {
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return os_fail(path, errno, EX_CANTCREAT);
    }
    if (!S_ISSOCK(st.st_mode)) return fail(path + ": exists and is not a socket", EX_CANTCREAT);
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0) return os_fail("socket", errno);
    const int rc = connect_unix(probe, a);
    const int e = errno;
    ::close(probe);
    // EAGAIN: a live listener whose queue is full.
    if (rc == 0 || e == EAGAIN) return fail(path + ": in use by a running process", EX_UNAVAILABLE);
    if (e != ECONNREFUSED) return os_fail(path, e, EX_CANTCREAT);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return os_fail(path, errno, EX_CANTCREAT);
    return {};
}

int poll_timeout_ms(SteadyTime now, SteadyTime deadline) {
    if (deadline <= now) return 0;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    return static_cast<int>(std::min<std::int64_t>(ms, 60'000));
}

}  // namespace

struct StatusSocket::Impl {
    struct Client {
        int fd = -1;
        std::vector<std::byte> data;
        std::size_t sent = 0;
        SteadyTime deadline;
    };

    std::string path;
    int listen_fd = -1;
    int wake_fd = -1;
    ino_t inode = 0;
    dev_t device = 0;
    SnapshotFn snapshot;
    Limits limits;
    std::vector<Client> clients;
    std::atomic<std::uint64_t> served{0};
    std::atomic<std::uint64_t> dropped{0};
    std::thread thread;

    ~Impl() {
        if (thread.joinable()) {
            const std::uint64_t one = 1;
            // Cannot fail short of a closed descriptor: the eventfd counter does not overflow here.
            (void)!::write(wake_fd, &one, sizeof one);
            thread.join();
        }
        for (auto& c : clients) ::close(c.fd);
        if (listen_fd >= 0) ::close(listen_fd);
        if (wake_fd >= 0) ::close(wake_fd);
        // Only our own socket file: a newer process may have replaced it.
        struct stat st{};
        if (inode != 0 && ::lstat(path.c_str(), &st) == 0 && st.st_ino == inode && st.st_dev == device)
            ::unlink(path.c_str());
    }

    // Sends what the socket takes now; true when the client is finished with (done or failed).
    bool pump(Client& c) {
        while (c.sent < c.data.size()) {
            const ssize_t n = ::send(c.fd, c.data.data() + c.sent, c.data.size() - c.sent,
                                     MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                c.sent += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
            ++dropped;   // the client went away
            ::close(c.fd);
            return true;
        }
        // Whatever the client sent unasked is read first: closing with unread data would make
        // the kernel answer ECONNRESET instead of the EOF after the snapshot.
        std::byte sink[512];
        for (int i = 0; i < 8 && ::recv(c.fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
        }
        ++served;
        ::shutdown(c.fd, SHUT_WR);
        ::close(c.fd);
        return true;
    }

    void accept_all(SteadyTime now) {
        for (;;) {
            const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED) continue;
                return;   // EAGAIN, or out of descriptors: the client waits in the queue
            }
            if (static_cast<int>(clients.size()) >= limits.max_clients) {
                ++dropped;   // counted before the close a client sees
                ::close(fd);
                continue;
            }
            Client c{fd, snapshot(), 0, now + limits.send_timeout};
            if (!pump(c)) clients.push_back(std::move(c));
        }
    }

    void run() {
        std::vector<pollfd> fds;
        for (;;) {
            fds.clear();
            fds.push_back({wake_fd, POLLIN, 0});
            fds.push_back({listen_fd, POLLIN, 0});
            auto now = std::chrono::steady_clock::now();
            int timeout = -1;
            for (const auto& c : clients) {
                fds.push_back({c.fd, POLLOUT, 0});
                int t = poll_timeout_ms(now, c.deadline);
                timeout = timeout < 0 ? t : std::min(timeout, t);
            }
            if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
            if (fds[0].revents != 0) return;
            now = std::chrono::steady_clock::now();
            std::size_t i = 2;
            std::erase_if(clients, [&](Client& c) {
                const short revents = fds[i++].revents;
                if (revents != 0 && pump(c)) return true;
                if (now >= c.deadline) {   // too slow: it never stalls the others
                    ++dropped;
                    ::close(c.fd);
                    return true;
                }
                return false;
            });
            if (fds[1].revents != 0) accept_all(now);
        }
    }
};

Result<StatusSocket> StatusSocket::open(const std::string& path, mode_t mode, SnapshotFn snapshot,
                                        Limits limits) {
    auto a = unix_address(path);
    if (!a) return Unexpected<Error>{a.error()};
    if (auto ok = clear_stale(path, *a); !ok) return Unexpected<Error>{ok.error()};
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->snapshot = std::move(snapshot);
    impl->limits = limits;
    impl->limits.max_clients = std::max(1, limits.max_clients);
    impl->listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (impl->listen_fd < 0) return os_fail("socket", errno);
    if (::bind(impl->listen_fd, reinterpret_cast<const sockaddr*>(&*a), sizeof *a) != 0) {
        const int e = errno;
        return os_fail(path, e, e == EADDRINUSE ? EX_UNAVAILABLE : EX_CANTCREAT);
    }
    struct stat st{};
    if (::lstat(path.c_str(), &st) != 0) return os_fail(path, errno, EX_CANTCREAT);
    impl->inode = st.st_ino;
    impl->device = st.st_dev;
    // Before listen(): nobody connects under the umask's mode.
    if (::chmod(path.c_str(), mode) != 0) return os_fail(path + ": chmod", errno, EX_CANTCREAT);
    if (::listen(impl->listen_fd, 16) != 0) return os_fail(path + ": listen", errno);
    impl->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (impl->wake_fd < 0) return os_fail("eventfd", errno);
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] { raw->run(); });
    return StatusSocket(std::move(impl));
}

StatusSocket::StatusSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StatusSocket::StatusSocket(StatusSocket&&) noexcept = default;
StatusSocket& StatusSocket::operator=(StatusSocket&&) noexcept = default;
StatusSocket::~StatusSocket() = default;

const std::string& StatusSocket::path() const { return impl_->path; }
std::uint64_t StatusSocket::served() const { return impl_->served.load(); }
std::uint64_t StatusSocket::dropped() const { return impl_->dropped.load(); }

Result<std::vector<std::byte>> read_status_socket(const std::string& path, std::chrono::nanoseconds timeout,
                                                  std::size_t max_bytes) {
    auto a = unix_address(path);
    if (!a) return Unexpected<Error>{a.error()};
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return os_fail("socket", errno);
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    const std::string seconds = std::to_string(std::chrono::duration<double>(timeout).count());
    for (;;) {
        if (connect_unix(fd, *a) == 0) break;
        const int e = errno;
        if (e == EINTR) continue;
        if (e == EAGAIN) {   // the listener's queue is full: wait a little, within the deadline
            if (std::chrono::steady_clock::now() >= deadline)
                return fail(path + ": no answer within " + seconds + " s (queue full)", EX_UNAVAILABLE);
            ::usleep(10'000);
            continue;
        }
        if (e == ENOENT) return os_fail(path, e, EX_NOINPUT);
        if (e == EACCES || e == EPERM) return os_fail(path, e, EX_NOPERM);
        if (e == ECONNREFUSED) return fail(path + ": connection refused (is the tool running?)", EX_UNAVAILABLE);
        return os_fail(path, e, EX_UNAVAILABLE);
    }
    std::vector<std::byte> out;
    std::byte buf[16384];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n == 0) return out;
        if (n > 0) {
            if (out.size() + static_cast<std::size_t>(n) > max_bytes)
                return fail(path + ": answer longer than " + std::to_string(max_bytes) + " bytes", EX_DATAERR);
            out.insert(out.end(), buf, buf + n);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return os_fail(path, errno, EX_UNAVAILABLE);
        pollfd p{fd, POLLIN, 0};
        const int t = poll_timeout_ms(std::chrono::steady_clock::now(), deadline);
        if (t == 0 || ::poll(&p, 1, t) == 0)
            return fail(path + ": no answer within " + seconds + " s", EX_UNAVAILABLE);
    }
}

Result<std::vector<std::string>> find_status_sockets(const std::string& dir) {
    namespace fs = std::filesystem;
    std::vector<std::string> out;
    std::error_code ec;
    auto is_socket = [](const fs::directory_entry& e) {
        std::error_code e2;
        return e.path().extension() == ".sock" && e.is_socket(e2);
    };
    fs::directory_iterator top(dir, ec);
    if (ec) return fail(dir + ": " + ec.message(),
                        ec == std::errc::no_such_file_or_directory ? EX_NOINPUT
                        : ec == std::errc::permission_denied       ? EX_NOPERM
                                                                   : EX_OSERR);
    for (const auto& e : top) {
        std::error_code e2;
        if (is_socket(e)) {
            out.push_back(e.path().string());
        } else if (e.is_directory(e2)) {
            // One level down (systemd's RuntimeDirectory=timepipe/UNIT); unreadable ones skipped.
            fs::directory_iterator sub(e.path(), e2);
            if (e2) continue;
            for (const auto& f : sub)
                if (is_socket(f)) out.push_back(f.path().string());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

ProcessIdentity this_process() {
    ProcessIdentity id;
    id.pid = ::getpid();
    id.started = wall_clock_now();
    // Field 22 of /proc/self/stat: start time in clock ticks since boot (fields counted after
    // the command name, which may hold spaces and parentheses: it ends at the last ')').
    std::ifstream in("/proc/self/stat");
    std::string line;
    if (!std::getline(in, line)) return id;
    auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos) return id;
    std::istringstream fields(line.substr(close_paren + 1));
    std::string field;
    unsigned long long ticks = 0;
    for (int n = 3; n <= 22 && fields >> field; ++n)
        if (n == 22) ticks = std::strtoull(field.c_str(), nullptr, 10);
    const long hz = ::sysconf(_SC_CLK_TCK);
    timespec boot{};
    if (ticks == 0 || hz <= 0 || ::clock_gettime(CLOCK_BOOTTIME, &boot) != 0) return id;
    const UnixNanos since_boot = static_cast<UnixNanos>(boot.tv_sec) * kNanosPerSecond + boot.tv_nsec;
    const UnixNanos start_after_boot =
        static_cast<UnixNanos>(ticks / hz) * kNanosPerSecond +
        static_cast<UnixNanos>(ticks % hz) * kNanosPerSecond / hz;
    id.started = id.started - since_boot + start_after_boot;
    return id;
}

}  // namespace timepipe
