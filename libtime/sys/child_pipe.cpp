#include "libtime/sys/child_pipe.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <tuple>
#include <unistd.h>
#include <utility>

#include "libtime/sys/unique_fd.hpp"

namespace timepipe {

namespace {

Result<void> make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno), EX_OSERR);
    read_end.reset(p[0]);
    write_end.reset(p[1]);
    return {};
}

// SIGPIPE ignored for the lifetime of the object, the previous action restored after.
class IgnoreSigpipe {
public:
    IgnoreSigpipe() {
        struct sigaction ign {};
        ign.sa_handler = SIG_IGN;
        sigemptyset(&ign.sa_mask);
        ok_ = ::sigaction(SIGPIPE, &ign, &old_) == 0;
    }
    IgnoreSigpipe(const IgnoreSigpipe&) = delete;
    IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;
    ~IgnoreSigpipe() {
        if (ok_) ::sigaction(SIGPIPE, &old_, nullptr);
    }

private:
    struct sigaction old_ {};
    bool ok_ = false;
};

// Reaps `pid`, killing it first when `kill_first`.
int reap(pid_t pid, bool kill_first, std::string& status) {
    if (kill_first) ::kill(pid, SIGKILL);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(st)) {
        status = "exited with " + std::to_string(WEXITSTATUS(st));
        return WEXITSTATUS(st);
    }
    if (WIFSIGNALED(st)) {
        status = "killed by signal " + std::to_string(WTERMSIG(st));
        return 128 + WTERMSIG(st);
    }
    status = "stopped";
    return 128;
}

}  // namespace

Result<FilterResult> run_filter(const std::vector<std::string>& argv, std::string_view input,
                                const FilterLimits& limits) {
    if (argv.empty()) return fail("empty command", EX_USAGE);
    UniqueFd in_r, in_w, out_r, out_w, err_r, err_w, rep_r, rep_w;
    for (auto [r, w] : {std::pair{&in_r, &in_w}, {&out_r, &out_w}, {&err_r, &err_w}, {&rep_r, &rep_w}})
        if (auto ok = make_pipe(*r, *w); !ok) return Unexpected<Error>{ok.error()};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    IgnoreSigpipe ignore_sigpipe;
    pid_t pid = ::fork();
    if (pid < 0) return fail(std::string("fork: ") + std::strerror(errno), EX_OSERR);
    if (pid == 0) {
        ::dup2(in_r.get(), 0);
        ::dup2(out_w.get(), 1);
        ::dup2(err_w.get(), 2);
        ::signal(SIGPIPE, SIG_DFL);
        ::execvp(args[0], args.data());
        int e = errno;
        (void)!::write(rep_w.get(), &e, sizeof e);
        ::_exit(127);
    }
    in_r.reset();
    out_w.reset();
    err_w.reset();
    rep_w.reset();
    int e = 0;
    ssize_t n;
    do n = ::read(rep_r.get(), &e, sizeof e); while (n < 0 && errno == EINTR);
    FilterResult result;
    if (n == static_cast<ssize_t>(sizeof e)) {
        reap(pid, false, result.status);
        return fail(std::string("cannot run: ") + std::strerror(e), EX_UNAVAILABLE);
    }
    if (::fcntl(in_w.get(), F_SETFL, O_NONBLOCK) != 0) {
        reap(pid, true, result.status);
        return fail(std::string("fcntl: ") + std::strerror(errno), EX_OSERR);
    }
    if (input.empty()) in_w.reset();

    const auto deadline = std::chrono::steady_clock::now() + limits.timeout;
    std::array<char, 65536> buf;
    while (out_r.valid() || err_r.valid()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            reap(pid, true, result.status);
            return fail("no result within " + std::to_string(limits.timeout.count() / 1000) + " s", EX_TEMPFAIL);
        }
        std::array<pollfd, 3> p{pollfd{in_w.get(), POLLOUT, 0}, pollfd{out_r.get(), POLLIN, 0}, pollfd{err_r.get(), POLLIN, 0}};
        int r = ::poll(p.data(), p.size(), static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int pe = errno;
            reap(pid, true, result.status);
            return fail(std::string("poll: ") + std::strerror(pe), EX_OSERR);
        }
        if (in_w.valid() && p[0].revents != 0) {
            ssize_t w = ::write(in_w.get(), input.data(), input.size());
            if (w > 0) input.remove_prefix(static_cast<std::size_t>(w));
            // EPIPE: the child stopped reading; what it says about it comes through its status.
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || input.empty()) in_w.reset();
        }
        for (auto [fd, into, max] : {std::tuple{&out_r, &result.output, limits.max_output},
                                     {&err_r, &result.error, limits.max_error}}) {
            pollfd& q = fd == &out_r ? p[1] : p[2];
            if (!fd->valid() || q.revents == 0) continue;
            ssize_t got = ::read(fd->get(), buf.data(), buf.size());
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                fd->reset();
                continue;
            }
            auto g = static_cast<std::size_t>(got);
            if (fd == &out_r && into->size() + g > max) {
                reap(pid, true, result.status);
                return fail("more than " + std::to_string(max >> 20) + " MiB of output", EX_IOERR);
            }
            into->append(buf.data(), std::min(g, max - std::min(max, into->size())));
        }
    }
    in_w.reset();
    // Its output is closed; a child that lingers after that still gets only the time left.
    for (;;) {
        int st = 0;
        pid_t r = ::waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            result.exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
            result.status = WIFEXITED(st)     ? "exited with " + std::to_string(WEXITSTATUS(st))
                            : WIFSIGNALED(st) ? "killed by signal " + std::to_string(WTERMSIG(st))
                                              : "stopped";
            return result;
        }
        if (r < 0 && errno != EINTR) return fail(std::string("waitpid: ") + std::strerror(errno), EX_OSERR);
        if (std::chrono::steady_clock::now() >= deadline) {
            reap(pid, true, result.status);
            return fail("no result within " + std::to_string(limits.timeout.count() / 1000) + " s", EX_TEMPFAIL);
        }
        ::usleep(5000);
    }
}

}  // namespace timepipe
