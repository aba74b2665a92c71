#include "libtime/sys/child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace timepipe {

namespace {
void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}
}  // namespace

Result<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv) {
    if (argv.empty()) return fail("empty command", EX_USAGE);
    int to_child[2], from_child[2], report[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno), EX_OSERR);
    if (::pipe2(from_child, O_CLOEXEC) != 0) {
        ::close(to_child[0]);
        ::close(to_child[1]);
        return fail(std::string("pipe: ") + std::strerror(errno), EX_OSERR);
    }
    if (::pipe2(report, O_CLOEXEC) != 0) {
        for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) ::close(fd);
        return fail(std::string("pipe: ") + std::strerror(errno), EX_OSERR);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1], report[0], report[1]}) ::close(fd);
        return fail(std::string("fork: ") + std::strerror(errno), EX_OSERR);
    }
    if (pid == 0) {
        ::dup2(to_child[0], 0);
        ::dup2(from_child[1], 1);
        ::signal(SIGPIPE, SIG_DFL);
        ::execvp(args[0], args.data());
        int e = errno;
        (void)!::write(report[1], &e, sizeof e);
        ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    ::close(report[1]);
    int e = 0;
    ssize_t n;
    do n = ::read(report[0], &e, sizeof e); while (n < 0 && errno == EINTR);
    ::close(report[0]);
    ChildProcess c;
    c.pid_ = pid;
    c.in_ = to_child[1];
    c.out_ = from_child[0];
    if (n == static_cast<ssize_t>(sizeof e)) {
        c.wait();
        return fail(std::string("cannot run: ") + std::strerror(e), EX_UNAVAILABLE);
    }
    return c;
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept : pid_(o.pid_), in_(o.in_), out_(o.out_) {
    o.pid_ = -1;
    o.in_ = o.out_ = -1;
}

ChildProcess::~ChildProcess() {
    close_fd(in_);
    close_fd(out_);
    if (pid_ > 0) {
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == 0) {
            ::kill(pid_, SIGTERM);
            while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
        }
    }
}

Result<void> ChildProcess::write_all(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(in_, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(std::string("write: ") + std::strerror(errno), EX_IOERR);
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

Result<std::size_t> ChildProcess::read_some(std::span<std::byte> into, std::chrono::milliseconds timeout) {
    for (;;) {
        pollfd p{out_, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return fail(std::string("poll: ") + std::strerror(errno), EX_OSERR);
        if (r == 0) return fail("no answer within " + std::to_string(timeout.count() / 1000) + " s", EX_UNAVAILABLE);
        ssize_t n = ::read(out_, into.data(), into.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(std::string("read: ") + std::strerror(errno), EX_IOERR);
        return static_cast<std::size_t>(n);
    }
}

void ChildProcess::close_input() { close_fd(in_); }

std::string ChildProcess::wait() {
    if (pid_ <= 0) return "reaped";
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
    pid_ = -1;
    if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "stopped";
}

std::string ChildProcess::wait_or_kill(std::chrono::milliseconds grace) {
    if (pid_ <= 0) return "reaped";
    for (long waited = 0;; waited += 10) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
            if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
            return "stopped";
        }
        if (r < 0 && errno != EINTR) return "lost";
        if (waited >= grace.count()) break;
        ::usleep(10000);
    }
    ::kill(pid_, SIGTERM);
    return wait() + " after SIGTERM";
}

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

}  // namespace timepipe
