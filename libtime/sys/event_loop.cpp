#include "libtime/sys/event_loop.hpp"

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <exception>
#include <string>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

namespace timepipe {
namespace detail {

// Owns one libuv handle. uv_any_handle is a union of every handle type sharing the
// uv_handle_t prefix, so the generic and the typed view are the same object without casts.
//
// Lifetime: the wrapper holds the state through HandlePtr. When it lets go, HandleRelease asks
// libuv to close the handle and on_close frees the state. If the loop dies first, ~EventLoop
// closes the handle, on_close marks it closed, and HandleRelease frees it later directly.
struct HandleState {
    HandleState() = default;
    HandleState(const HandleState&) = delete;
    HandleState& operator=(const HandleState&) = delete;
    virtual ~HandleState() = default;

    uv_any_handle h{};
    bool owner_alive = true;  // a wrapper still holds this state
    bool closed = true;       // no live libuv handle (not initialised yet, or closed)

    uv_handle_t* handle() { return &h.handle; }
    void adopt() {  // call right after a successful uv_*_init
        h.handle.data = this;
        closed = false;
    }
};

namespace {

void on_close(uv_handle_t* handle) {
    auto* state = static_cast<HandleState*>(handle->data);
    state->closed = true;
    if (!state->owner_alive)
        std::unique_ptr<HandleState> reclaim(state);  // the wrapper is gone: free now
}

}  // namespace

void HandleRelease::operator()(HandleState* state) const noexcept {
    if (state->closed) {
        std::unique_ptr<HandleState> reclaim(state);
        return;
    }
    state->owner_alive = false;  // on_close frees it
    if (!uv_is_closing(state->handle()))
        uv_close(state->handle(), on_close);
}

// What the loop carries besides libuv's state: the exception a callback threw, to be rethrown by
// EventLoop::run() once libuv has returned (an exception must never unwind through C frames).
struct LoopData {
    std::exception_ptr pending;
};

void LoopDelete::operator()(uv_loop_s* loop) const noexcept {
    // Close what wrappers still hold, let every close callback run, then the loop can go.
    uv_walk(
        loop,
        [](uv_handle_t* h, void*) {
            if (!uv_is_closing(h))
                uv_close(h, on_close);
        },
        nullptr);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);  // 0 now: no handle is left
    std::unique_ptr<LoopData> data(static_cast<LoopData*>(loop->data));
    std::unique_ptr<uv_loop_s> reclaim(loop);
}

}  // namespace detail

namespace {

using detail::HandlePtr;
using detail::HandleState;

Unexpected<Error> uv_error(const char* what, int rc) {
    return fail(std::string(what) + ": " + uv_strerror(rc), EX_OSERR);
}

template <class State>
State* state_of(const HandlePtr& p) {
    return static_cast<State*>(p.get());
}

// libuv hands callbacks the typed handle; its `data` is the state that owns it.
template <class State>
State* state_from(void* data) {
    return static_cast<State*>(static_cast<HandleState*>(data));
}

// Every callback from libuv goes through here: whatever the user's function throws is caught
// before it can unwind into libuv's C frames, kept, and the loop stopped; run() rethrows it.
template <class F>
void guarded(uv_loop_t* loop, F&& fn) noexcept {
    try {
        fn();
    } catch (...) {
        auto* data = static_cast<detail::LoopData*>(loop->data);
        if (!data->pending)
            data->pending = std::current_exception();
        uv_stop(loop);
    }
}

// A timerfd (CLOCK_MONOTONIC, nanoseconds) watched by uv_poll: libuv's own timers count whole
// milliseconds, which would round a 250 µs batch delay up to 2 ms.
struct TimerState final : HandleState {
    std::function<void()> on_fire;
    int fd = -1;
    bool armed = false;
    bool repeating = false;
    std::int64_t deadline = 0;  // CLOCK_MONOTONIC nanoseconds of the next expiry
    std::int64_t interval = 0;

    ~TimerState() override {
        if (fd >= 0)
            ::close(fd);
    }
};

timespec to_timespec(std::int64_t ns) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    return ts;
}

std::int64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct PollState final : HandleState {
    std::function<void(FdEvents)> on_event;
    bool want = false;      // started by the user
    bool writable = false;  // also wake when writable
    int events() const { return UV_READABLE | (writable ? UV_WRITABLE : 0); }
};

struct SignalState final : HandleState {
    std::shared_ptr<std::function<void(int)>> on_signal;
};

struct ReaderState final : HandleState {
    int fd = -1;
    bool use_poll = false;  // else an idle handle reads a regular file
    bool running = false;
    bool done = false;
    int saved_flags = -1;   // fcntl flags to restore, if uv_poll changed them
    std::vector<std::byte> buffer;
    std::function<void(std::span<const std::byte>)> on_data;
    std::function<void(std::optional<Error>)> on_end;

    ~ReaderState() override {
        if (saved_flags >= 0)
            fcntl(fd, F_SETFL, saved_flags);  // best effort: give the fd back as we found it
    }
};

}  // namespace

// --- EventLoop --------------------------------------------------------------------------------

Result<EventLoop> EventLoop::create() {
    auto loop = std::make_unique<uv_loop_t>();
    int rc = uv_loop_init(loop.get());
    if (rc < 0)
        return uv_error("uv_loop_init", rc);
    loop->data = new detail::LoopData();
    return EventLoop(std::unique_ptr<uv_loop_s, detail::LoopDelete>(loop.release()));
}

void EventLoop::run() {
    uv_run(loop_.get(), UV_RUN_DEFAULT);
    auto* data = static_cast<detail::LoopData*>(loop_->data);
    if (data->pending)
        std::rethrow_exception(std::exchange(data->pending, nullptr));
}

void EventLoop::stop() { uv_stop(loop_.get()); }

// --- Timer ------------------------------------------------------------------------------------

namespace {

void timer_fired(uv_poll_t* h, int /*status*/, int /*events*/) {
    auto* s = state_from<TimerState>(h->data);
    std::uint64_t expirations = 0;
    if (::read(s->fd, &expirations, sizeof expirations) != sizeof expirations)
        return;  // EAGAIN: disarmed or re-armed since the wake-up
    if (s->repeating) {
        s->deadline += static_cast<std::int64_t>(expirations) * s->interval;
    } else {
        s->armed = false;
        uv_poll_stop(&s->h.poll);  // a fired one-shot timer no longer keeps the loop alive
    }
    guarded(h->loop, [s] { s->on_fire(); });  // may stop, restart or destroy the timer
}

void disarm(TimerState* s) {
    itimerspec none{};
    timerfd_settime(s->fd, 0, &none, nullptr);
    std::uint64_t stale = 0;
    (void)::read(s->fd, &stale, sizeof stale);  // drop an expiry that has not been handled
    s->armed = false;
}

}  // namespace

Result<Timer> Timer::create(EventLoop& loop, std::function<void()> on_fire) {
    HandlePtr p(std::make_unique<TimerState>().release());
    auto* s = state_of<TimerState>(p);
    s->on_fire = std::move(on_fire);
    s->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->fd < 0)
        return fail(std::string("timerfd_create: ") + std::strerror(errno), EX_OSERR);
    int rc = uv_poll_init(loop.uv(), &s->h.poll, s->fd);
    if (rc < 0)
        return uv_error("uv_poll_init", rc);
    s->adopt();
    return Timer(std::move(p));
}

std::int64_t timer_deadline(std::int64_t now, std::chrono::nanoseconds after) {
    // At least 1 ns: a zero it_value would disarm the timerfd instead of firing at once.
    return now + std::max<std::int64_t>(after.count(), 1);
}

void Timer::start(std::chrono::nanoseconds after, std::chrono::nanoseconds repeat) {
    auto* s = state_of<TimerState>(state_);
    if (s->closed)
        return;  // the loop is gone
    s->deadline = timer_deadline(monotonic_ns(), after);
    s->interval = std::max<std::int64_t>(repeat.count(), 0);
    s->repeating = s->interval > 0;
    itimerspec spec{};
    spec.it_value = to_timespec(s->deadline);
    spec.it_interval = to_timespec(s->interval);
    std::uint64_t stale = 0;
    (void)::read(s->fd, &stale, sizeof stale);  // an expiry of the previous arming is void now
    if (timerfd_settime(s->fd, TFD_TIMER_ABSTIME, &spec, nullptr) < 0)
        return;  // cannot happen with valid values and a timerfd of our own
    s->armed = true;
    uv_poll_start(&s->h.poll, UV_READABLE, timer_fired);
}

void Timer::stop() {
    auto* s = state_of<TimerState>(state_);
    if (s->closed)
        return;
    uv_poll_stop(&s->h.poll);
    disarm(s);
}

bool Timer::active() const {
    auto* s = state_of<TimerState>(state_);
    return !s->closed && s->armed;
}

std::optional<std::int64_t> Timer::deadline() const {
    auto* s = state_of<TimerState>(state_);
    if (!active())
        return std::nullopt;
    return s->deadline;
}

// --- FdWatcher --------------------------------------------------------------------------------

namespace {

void poll_event(uv_poll_t* h, int status, int events) {
    auto* s = state_from<PollState>(h->data);
    FdEvents e;
    // libuv reports POLLERR as status UV_EBADF and stops the handle (uv__poll_io). For a
    // socket that only means its error queue has something: report it and watch on.
    if (status < 0) {
        e.error = true;
    } else {
        e.readable = (events & UV_READABLE) != 0;
        e.writable = (events & UV_WRITABLE) != 0;
    }
    guarded(h->loop, [s, e] { s->on_event(e); });  // may stop or destroy the watcher
    if (status < 0 && s->owner_alive && s->want && !uv_is_closing(s->handle()))
        uv_poll_start(&s->h.poll, s->events(), poll_event);
}

}  // namespace

Result<FdWatcher> FdWatcher::create(EventLoop& loop, int fd, std::function<void(FdEvents)> on_event) {
    HandlePtr p(std::make_unique<PollState>().release());
    auto* s = state_of<PollState>(p);
    s->on_event = std::move(on_event);
    int rc = uv_poll_init(loop.uv(), &s->h.poll, fd);
    if (rc < 0)
        return uv_error("uv_poll_init", rc);
    s->adopt();
    FdWatcher w(std::move(p));
    auto started = w.start();
    if (!started)
        return Unexpected<Error>{started.error()};
    return w;
}

Result<void> FdWatcher::start() {
    auto* s = state_of<PollState>(state_);
    if (s->closed)
        return fail("event loop is gone", EX_SOFTWARE);
    int rc = uv_poll_start(&s->h.poll, s->events(), poll_event);
    if (rc < 0)
        return uv_error("uv_poll_start", rc);
    s->want = true;
    return {};
}

Result<void> FdWatcher::watch_writable(bool on) {
    auto* s = state_of<PollState>(state_);
    if (s->writable == on) return {};
    s->writable = on;
    if (!s->want || s->closed) return {};
    return start();
}

void FdWatcher::stop() {
    auto* s = state_of<PollState>(state_);
    s->want = false;
    if (!s->closed)
        uv_poll_stop(&s->h.poll);
}

// --- SignalWatcher ----------------------------------------------------------------------------

Result<SignalWatcher> SignalWatcher::create(EventLoop& loop, std::initializer_list<int> signals,
                                            std::function<void(int)> on_signal) {
    auto shared = std::make_shared<std::function<void(int)>>(std::move(on_signal));
    std::vector<HandlePtr> states;
    for (int signo : signals) {
        HandlePtr p(std::make_unique<SignalState>().release());
        auto* s = state_of<SignalState>(p);
        s->on_signal = shared;
        int rc = uv_signal_init(loop.uv(), &s->h.signal);
        if (rc < 0)
            return uv_error("uv_signal_init", rc);
        s->adopt();
        auto deliver = [](uv_signal_t* h, int n) {
            guarded(h->loop, [h, n] { (*state_from<SignalState>(h->data)->on_signal)(n); });
        };
        rc = uv_signal_start(&s->h.signal, deliver, signo);
        if (rc < 0)
            return uv_error("uv_signal_start", rc);
        states.push_back(std::move(p));
    }
    return SignalWatcher(std::move(states));
}

// --- InputReader ------------------------------------------------------------------------------

namespace {

void reader_stop(ReaderState* s) {
    s->running = false;
    if (s->closed)
        return;
    if (s->use_poll)
        uv_poll_stop(&s->h.poll);
    else
        uv_idle_stop(&s->h.idle);
}

// One read(2) per wake-up: bounded work per loop iteration, whatever the source.
void reader_read(ReaderState* s) {
    if (s->done || !s->running)
        return;
    ssize_t n = ::read(s->fd, s->buffer.data(), s->buffer.size());
    if (n > 0) {
        s->on_data(std::span<const std::byte>(s->buffer.data(), static_cast<std::size_t>(n)));
        return;
    }
    if (n < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
            return;  // spurious wake-up; the next one brings data
        s->done = true;
        reader_stop(s);
        s->on_end(Error{std::string("read: ") + std::strerror(err), EX_IOERR});
        return;
    }
    s->done = true;
    reader_stop(s);
    s->on_end(std::nullopt);
}

void reader_poll(uv_poll_t* h, int /*status*/, int /*events*/) {
    // On POLLERR (status < 0) the read below reports the actual error, or EOF.
    guarded(h->loop, [h] { reader_read(state_from<ReaderState>(h->data)); });
}

void reader_idle(uv_idle_t* h) {
    guarded(h->loop, [h] { reader_read(state_from<ReaderState>(h->data)); });
}

}  // namespace

Result<InputReader> InputReader::create(EventLoop& loop, int fd,
                                        std::function<void(std::span<const std::byte>)> on_data,
                                        std::function<void(std::optional<Error>)> on_end,
                                        std::size_t chunk_size) {
    HandlePtr p(std::make_unique<ReaderState>().release());
    auto* s = state_of<ReaderState>(p);
    s->fd = fd;
    s->buffer.resize(chunk_size == 0 ? 1 : chunk_size);
    s->on_data = std::move(on_data);
    s->on_end = std::move(on_end);

    struct stat st{};
    int rc = fstat(fd, &st);
    if (rc < 0)
        return fail(std::string("fstat: ") + std::strerror(errno), EX_NOINPUT);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0)
        return fail(std::string("fcntl: ") + std::strerror(errno), EX_OSERR);

    // Regular files and block devices are always "ready" and epoll refuses them.
    bool file_like = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode);
    if (!file_like) {
        rc = uv_poll_init(loop.uv(), &s->h.poll, fd);  // sets O_NONBLOCK on success
        if (rc == 0) {
            s->use_poll = true;
            if ((flags & O_NONBLOCK) == 0)
                s->saved_flags = flags;
        } else if (rc != UV_EPERM) {
            return uv_error("uv_poll_init", rc);
        }  // EPERM: a character device epoll cannot watch (/dev/null): read it like a file
    }
    if (!s->use_poll) {
        rc = uv_idle_init(loop.uv(), &s->h.idle);
        if (rc < 0)
            return uv_error("uv_idle_init", rc);
    }
    s->adopt();
    InputReader r(std::move(p));
    r.resume();
    return r;
}

void InputReader::pause() { reader_stop(state_of<ReaderState>(state_)); }

void InputReader::resume() {
    auto* s = state_of<ReaderState>(state_);
    if (s->closed || s->done || s->running)
        return;
    s->running = true;
    if (s->use_poll)
        uv_poll_start(&s->h.poll, UV_READABLE, reader_poll);
    else
        uv_idle_start(&s->h.idle, reader_idle);
}

}  // namespace timepipe
