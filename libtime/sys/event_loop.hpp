// RAII over libuv: a loop, and the few things that wake it. Every object is move-only; the
// libuv handle lives on the heap and is freed in its uv_close callback, so destroying a
// watcher is always safe — even from inside its own callback, and even after its loop is gone.
//
//   auto loop = EventLoop::create();
//   auto sock = FdWatcher::create(*loop, s.fd(), [&](FdEvents e) { s.receive_batch(...); });
//   auto tick = Timer::create(*loop, [&] { poll_next_server(); });
//   tick->start(std::chrono::seconds(1), std::chrono::seconds(1));       // first, then every
//   auto sig = SignalWatcher::create(*loop, {SIGTERM, SIGINT, SIGHUP, SIGUSR1},
//                                    [&](int signo) { if (signo == SIGTERM) loop->stop(); });
//   auto in = InputReader::create(*loop, 0, [&](std::span<const std::byte> chunk) { ... },
//                                 [&](std::optional<Error> err) { /* EOF or read error */ });
//   loop->run();
//
// Sockets are watched with FdWatcher (uv_poll) rather than libuv's UDP API, which cannot hand
// over control messages (timestamps, pktinfo). A socket with transmit timestamps wakes its
// watcher with FdEvents::error when the error queue holds one: call read_tx_timestamps().
// Declare watchers after their loop, so they go first; ~EventLoop closes what is left.
// Everything runs on the loop's thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "libtime/base/error.hpp"

struct uv_loop_s;

namespace timepipe {

namespace detail {
struct HandleState;
struct LoopDelete {
    void operator()(uv_loop_s* loop) const noexcept;
};
struct HandleRelease {
    void operator()(HandleState* state) const noexcept;
};
using HandlePtr = std::unique_ptr<HandleState, HandleRelease>;
}  // namespace detail

class EventLoop {
public:
    static Result<EventLoop> create();
    EventLoop(EventLoop&&) noexcept = default;
    EventLoop& operator=(EventLoop&&) noexcept = default;

    // Runs until stop() is called or nothing is left to wait for. An exception thrown by a
    // callback never unwinds through libuv: it is caught, the loop stops, and run() rethrows it.
    void run();
    // Makes run() return after the current callback.
    void stop();

    uv_loop_s* uv() const { return loop_.get(); }  // for the wrappers in libtime/sys/event_loop.cpp

private:
    explicit EventLoop(std::unique_ptr<uv_loop_s, detail::LoopDelete> loop) : loop_(std::move(loop)) {}
    std::unique_ptr<uv_loop_s, detail::LoopDelete> loop_;
};

// One-shot or repeating, to the nanosecond: a timerfd on CLOCK_MONOTONIC watched by the loop
// (libuv's own timers count whole milliseconds). A timer never fires early; how late depends on
// the scheduler. Use kernel timestamps, not timer expiry, for anything that is measured.
class Timer {
public:
    static Result<Timer> create(EventLoop& loop, std::function<void()> on_fire);
    // `after` <= 0: at the next loop iteration.
    void start(std::chrono::nanoseconds after, std::chrono::nanoseconds repeat = {});
    void stop();
    bool active() const;
    // CLOCK_MONOTONIC nanoseconds (as sys/clock.hpp's monotonic_now) of the next expiry, while
    // active.
    std::optional<std::int64_t> deadline() const;

private:
    explicit Timer(detail::HandlePtr s) : state_(std::move(s)) {}
    detail::HandlePtr state_;
};

struct FdEvents {
    bool readable = false;
    bool writable = false;  // only while watch_writable(true)
    bool error = false;  // POLLERR: a socket's error queue (tx timestamps) or a pending error
};

// The deadline Timer::start arms: `now` + `after` in nanoseconds, never rounded (at least 1 ns on).
std::int64_t timer_deadline(std::int64_t now, std::chrono::nanoseconds after);

// Calls back while fd is readable (level-triggered: read until EAGAIN or be called again).
// Starts watching at once. Not for regular files (epoll refuses them): see InputReader.
class FdWatcher {
public:
    static Result<FdWatcher> create(EventLoop& loop, int fd, std::function<void(FdEvents)> on_event);
    Result<void> start();
    void stop();
    // Also call back when fd is writable (a stream with output the kernel did not take yet).
    Result<void> watch_writable(bool on);

private:
    explicit FdWatcher(detail::HandlePtr s) : state_(std::move(s)) {}
    detail::HandlePtr state_;
};

// Calls back with the signal number on the loop's thread (not in a signal handler).
class SignalWatcher {
public:
    static Result<SignalWatcher> create(EventLoop& loop, std::initializer_list<int> signals,
                                        std::function<void(int signo)> on_signal);

private:
    explicit SignalWatcher(std::vector<detail::HandlePtr> s) : states_(std::move(s)) {}
    std::vector<detail::HandlePtr> states_;
};

// Reads a byte stream from fd — pipe, tty, socket, or regular file — in chunks as it arrives,
// then reports the end once: on_end(nullopt) at EOF, on_end(Error{…, EX_IOERR}) if read fails.
// Pollable fds are watched with uv_poll; a regular file (which epoll refuses) is read one chunk
// per loop iteration from an idle handle, so timers and sockets still get their turn. The fd
// is not closed; its O_NONBLOCK flag, which uv_poll sets, is restored afterwards.
class InputReader {
public:
    static Result<InputReader> create(EventLoop& loop, int fd,
                                      std::function<void(std::span<const std::byte>)> on_data,
                                      std::function<void(std::optional<Error>)> on_end,
                                      std::size_t chunk_size = 64 * 1024);
    void pause();   // stop reading (back-pressure); data waits in the kernel or the file
    void resume();

private:
    explicit InputReader(detail::HandlePtr s) : state_(std::move(s)) {}
    detail::HandlePtr state_;
};

}  // namespace timepipe
