// The libuv wrappers: each kind of wake-up, and handles closed cleanly (run under ASan: no leaks).
#include "libtime/sys/event_loop.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <fcntl.h>
#include <string>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "libtime/sys/clock.hpp"
#include "libtime/sys/socket.hpp"
#include "tests/unit/sys/sys_support.hpp"

using namespace timepipe;
using namespace std::chrono_literals;

namespace {

using timepipe::test::must;
using timepipe::test::Watchdog;

std::string text_of(std::span<const std::byte> b) {
    std::string s(b.size(), '\0');
    std::memcpy(s.data(), b.data(), b.size());
    return s;
}

struct Collected {
    std::string data;
    int ends = 0;
    std::optional<Error> error;
};

// Reads fd to its end through an InputReader; returns what arrived.
Collected read_all(int fd, std::size_t chunk = 64 * 1024) {
    auto loop = must(EventLoop::create());
    Collected c;
    auto reader = must(InputReader::create(
        loop, fd,
        [&](std::span<const std::byte> bytes) {
            c.data += text_of(bytes);
        },
        [&](std::optional<Error> e) {
            ++c.ends;
            c.error = std::move(e);
        },
        chunk));
    Watchdog dog(loop, 5000ms);
    dog.timer.stop();  // only the reader keeps the loop alive: run() returns at EOF
    loop.run();
    return c;
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('a' + i % 23);
    return s;
}

}  // namespace

TEST(EventLoop, EmptyLoopReturns) {
    auto loop = must(EventLoop::create());
    loop.run();
}

TEST(Timer, OneShotAndRepeat) {
    auto loop = must(EventLoop::create());
    int once = 0, repeats = 0;
    std::int64_t t0 = monotonic_now(), fired_at = 0;
    auto a = must(Timer::create(loop, [&] {
        ++once;
        fired_at = monotonic_now();
    }));
    a.start(15ms);
    auto b = must(Timer::create(loop, [&] {}));
    b = must(Timer::create(loop, [&] {  // move-assign: the first timer closes quietly
        if (++repeats == 3)
            loop.stop();
    }));
    b.start(1ms, 2ms);
    EXPECT_TRUE(b.active());
    Watchdog dog(loop, 2000ms);
    loop.run();
    EXPECT_EQ(repeats, 3);
    b.stop();
    EXPECT_FALSE(b.active());
    dog.timer.stop();
    loop.run();  // returns once `a` has fired: nothing else is active
    EXPECT_EQ(once, 1);
    EXPECT_GE(fired_at - t0, 15'000'000);  // never early
}

TEST(Timer, ZeroAndOneNanosecondFire) {
    auto loop = must(EventLoop::create());
    int fired = 0;
    auto t = must(Timer::create(loop, [&] { ++fired; }));
    auto u = must(Timer::create(loop, [&] { ++fired; }));
    t.start(std::chrono::nanoseconds(1));
    u.start(std::chrono::nanoseconds(0));
    loop.run();
    EXPECT_EQ(fired, 2);
    EXPECT_FALSE(t.active());
}

// The deadline keeps every nanosecond: no rounding to milliseconds (libuv's timers would arm
// 250 µs as 2 ms). Bounded by the monotonic clock read before and after start(), not by timing.
TEST(Timer, DeadlineKeepsSubMillisecondDelays) {
    EXPECT_EQ(timer_deadline(1'000'000'000, 250'123ns), 1'000'250'123);
    EXPECT_EQ(timer_deadline(1'000'000'000, 0ns), 1'000'000'001);
    auto loop = must(EventLoop::create());
    int fired = 0;
    auto t = must(Timer::create(loop, [&] { ++fired; }));
    for (auto after : {250'123ns, 1ns, 999'999ns, 1'000'001ns}) {
        const std::int64_t before = monotonic_now();
        t.start(after);
        const std::int64_t after_start = monotonic_now();
        ASSERT_TRUE(t.deadline().has_value());
        EXPECT_GE(*t.deadline(), before + after.count());
        EXPECT_LE(*t.deadline(), after_start + after.count());
        loop.run();  // fires; nothing else keeps the loop alive
    }
    EXPECT_EQ(fired, 4);
    EXPECT_FALSE(t.deadline().has_value());
}

TEST(Timer, RestartReplacesTheDeadline) {
    auto loop = must(EventLoop::create());
    int fired = 0;
    auto t = must(Timer::create(loop, [&] { ++fired; }));
    t.start(1h);
    t.start(1us);
    loop.run();  // returns: the hour-long arming is gone
    EXPECT_EQ(fired, 1);
    t.start(1us);
    t.stop();
    loop.run();
    EXPECT_EQ(fired, 1);
}

// An exception thrown in a callback must not unwind through libuv's C frames: the loop catches
// it, stops, and run() rethrows it to the caller.
TEST(EventLoop, CallbackExceptionIsRethrownByRun) {
    auto loop = must(EventLoop::create());
    int later = 0;
    auto t = must(Timer::create(loop, [] { throw std::runtime_error("from a timer"); }));
    auto other = must(Timer::create(loop, [&] { ++later; }));
    t.start(1us);
    other.start(1h);
    try {
        loop.run();
        ADD_FAILURE() << "run() returned normally";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "from a timer");
    }
    EXPECT_EQ(later, 0);
    // The loop is usable again afterwards.
    other.start(1us);
    loop.run();
    EXPECT_EQ(later, 1);
}

TEST(EventLoop, WatcherExceptionIsRethrownByRun) {
    auto loop = must(EventLoop::create());
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(write(p[1], "x", 1), 1);
    {
        auto w = must(FdWatcher::create(loop, p[0], [](FdEvents) { throw std::logic_error("from a watcher"); }));
        EXPECT_THROW(loop.run(), std::logic_error);
    }
    auto r = must(InputReader::create(loop, p[0], [](auto) { throw std::logic_error("from a reader"); }, [](auto) {}));
    EXPECT_THROW(loop.run(), std::logic_error);
    close(p[0]);
    close(p[1]);
}

TEST(Timer, DestroyItselfInCallback) {
    auto loop = must(EventLoop::create());
    std::optional<Timer> t;
    int fired = 0;
    t.emplace(must(Timer::create(loop, [&] {
        ++fired;
        t.reset();  // the state survives until libuv's close callback
    })));
    t->start(1ms, 1ms);
    loop.run();  // returns: the only handle closed itself
    EXPECT_EQ(fired, 1);
}

TEST(Timer, OutlivesItsLoop) {
    std::optional<Timer> t;
    {
        auto loop = must(EventLoop::create());
        t.emplace(must(Timer::create(loop, [] {})));
        t->start(1h);
    }  // ~EventLoop closes the handle
    t->start(1ms);  // a no-op now, not a use after free
    EXPECT_FALSE(t->active());
}

TEST(FdWatcher, FiresOnLoopbackDatagram) {
    auto loop = must(EventLoop::create());
    auto server = must(UdpSocket::bind(SocketAddress::loopback(AddressFamily::v4, 0)));
    auto client = must(UdpSocket::client(AddressFamily::v4));
    std::string got;
    bool kernel_time = false;
    auto w = must(FdWatcher::create(loop, server.fd(), [&](FdEvents e) {
        EXPECT_TRUE(e.readable);
        std::array<std::byte, 64> buf{};
        RxSlot slot;
        slot.buffer = buf;
        auto r = server.receive(slot);
        ASSERT_TRUE(r.has_value() && *r);
        got = text_of(slot.data());
        kernel_time = slot.kernel_time;
        loop.stop();
    }));
    auto send = must(Timer::create(loop, [&] {
        std::string m = "hello";
        ASSERT_TRUE(client.send_to(std::as_bytes(std::span(m)), server.local_address()).has_value());
    }));
    send.start(1ms);
    Watchdog dog(loop, 2000ms);
    loop.run();
    EXPECT_EQ(got, "hello");
    EXPECT_TRUE(kernel_time);
}

// Transmit timestamps arrive as POLLERR, which libuv turns into an error and a stopped handle;
// the watcher reports it and keeps watching.
TEST(FdWatcher, TxTimestampsWakeAndWatchingGoesOn) {
    auto loop = must(EventLoop::create());
    auto server = must(UdpSocket::bind(SocketAddress::loopback(AddressFamily::v6, 0)));
    auto client = must(UdpSocket::client(AddressFamily::v6, {.tx_timestamps = true}));
    int timestamps = 0, errors = 0;
    auto w = must(FdWatcher::create(loop, client.fd(), [&](FdEvents e) {
        if (!e.error)
            return;
        ++errors;
        std::array<TxTimestamp, 4> ts{};
        auto n = client.read_tx_timestamps(ts);
        ASSERT_TRUE(n.has_value());
        timestamps += static_cast<int>(*n);
        if (timestamps == 3)
            loop.stop();
    }));
    std::vector<std::byte> d(48);
    auto send = must(Timer::create(loop, [&] {
        ASSERT_TRUE(client.send_to(d, server.local_address()).has_value());
    }));
    send.start(1ms, 5ms);
    Watchdog dog(loop, 2000ms);
    loop.run();
    EXPECT_EQ(timestamps, 3);
    EXPECT_GE(errors, 3);
}

TEST(SignalWatcher, DeliversOnTheLoop) {
    auto loop = must(EventLoop::create());
    std::vector<int> seen;
    auto sig = must(SignalWatcher::create(loop, {SIGUSR1, SIGHUP}, [&](int signo) {
        seen.push_back(signo);
        if (seen.size() == 2)
            loop.stop();
    }));
    auto raise_them = must(Timer::create(loop, [] {
        std::raise(SIGUSR1);
        std::raise(SIGHUP);
    }));
    raise_them.start(1ms);
    Watchdog dog(loop, 2000ms);
    loop.run();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0] + seen[1], SIGUSR1 + SIGHUP);
}

TEST(InputReader, Pipe) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    std::string text = pattern(10000);  // fits the pipe buffer: written before the loop runs
    ASSERT_EQ(write(p[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ASSERT_EQ(close(p[1]), 0);
    int flags_before = fcntl(p[0], F_GETFL);
    Collected c = read_all(p[0], 1000);
    EXPECT_EQ(c.data, text);
    EXPECT_EQ(c.ends, 1);
    EXPECT_FALSE(c.error.has_value());
    EXPECT_EQ(fcntl(p[0], F_GETFL), flags_before);  // O_NONBLOCK restored
    close(p[0]);
}

TEST(InputReader, PipeWrittenWhileRunning) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    auto loop = must(EventLoop::create());
    std::string got;
    int ends = 0, writes = 0;
    auto reader = must(InputReader::create(
        loop, p[0], [&](std::span<const std::byte> b) { got += text_of(b); },
        [&](std::optional<Error> e) {
            EXPECT_FALSE(e.has_value());
            ++ends;
        }));
    std::optional<Timer> writer;
    writer.emplace(must(Timer::create(loop, [&] {
        std::string line = "line " + std::to_string(writes) + "\n";
        ASSERT_EQ(write(p[1], line.data(), line.size()), static_cast<ssize_t>(line.size()));
        if (++writes == 5) {
            close(p[1]);
            writer.reset();
        }
    })));
    writer->start(1ms, 2ms);
    loop.run();
    EXPECT_EQ(got, "line 0\nline 1\nline 2\nline 3\nline 4\n");
    EXPECT_EQ(ends, 1);
    close(p[0]);
}

TEST(InputReader, RegularFile) {
    char path[] = "/tmp/timepipe-input-XXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    unlink(path);
    std::string text = pattern(300000);  // several chunks
    ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
    Collected c = read_all(fd);
    EXPECT_EQ(c.data, text);
    EXPECT_EQ(c.ends, 1);
    EXPECT_FALSE(c.error.has_value());
    close(fd);
}

TEST(InputReader, EmptyFileAndDevNull) {
    int fd = open("/dev/null", O_RDONLY);
    ASSERT_GE(fd, 0);
    Collected c = read_all(fd);
    EXPECT_EQ(c.data, "");
    EXPECT_EQ(c.ends, 1);
    close(fd);
}

TEST(InputReader, Socket) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    std::string text = pattern(5000);
    ASSERT_EQ(write(sv[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ASSERT_EQ(shutdown(sv[1], SHUT_WR), 0);
    Collected c = read_all(sv[0]);
    EXPECT_EQ(c.data, text);
    EXPECT_EQ(c.ends, 1);
    close(sv[0]);
    close(sv[1]);
}

TEST(InputReader, Tty) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    ASSERT_GE(master, 0);
    ASSERT_EQ(grantpt(master), 0);
    ASSERT_EQ(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    ASSERT_GE(slave, 0);
    ASSERT_TRUE(isatty(slave));
    // Canonical mode: a line arrives at its newline, and ^D on an empty line is end of input.
    std::string typed = "first line\nsecond\n\x04";
    ASSERT_EQ(write(master, typed.data(), typed.size()), static_cast<ssize_t>(typed.size()));
    Collected c = read_all(slave);
    EXPECT_EQ(c.data, "first line\nsecond\n");
    EXPECT_EQ(c.ends, 1);
    close(slave);
    close(master);
}

TEST(InputReader, ReadErrorIsReported) {
    int fd = open("/tmp", O_RDONLY | O_DIRECTORY);  // read(2) on a directory: EISDIR
    ASSERT_GE(fd, 0);
    Collected c = read_all(fd);
    EXPECT_EQ(c.ends, 1);
    ASSERT_TRUE(c.error.has_value());
    EXPECT_EQ(c.error->exit_code, EX_IOERR);
    close(fd);
}

TEST(InputReader, BadFd) {
    auto loop = must(EventLoop::create());
    auto r = InputReader::create(loop, 12345, [](auto) {}, [](auto) {});
    EXPECT_FALSE(r.has_value());
}

TEST(InputReader, PauseAndResume) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    ASSERT_EQ(write(p[1], "abc", 3), 3);
    ASSERT_EQ(close(p[1]), 0);
    auto loop = must(EventLoop::create());
    std::string got;
    std::optional<InputReader> reader;
    reader.emplace(must(InputReader::create(
        loop, p[0],
        [&](std::span<const std::byte> b) {
            got += text_of(b);
            reader->pause();
        },
        [&](std::optional<Error>) { got += "|end"; }, 1)));
    // Each loop run delivers one byte then pauses, and run() returns as nothing is active.
    loop.run();
    EXPECT_EQ(got, "a");
    reader->resume();
    loop.run();
    EXPECT_EQ(got, "ab");
    reader->resume();
    loop.run();
    reader->resume();
    loop.run();
    EXPECT_EQ(got, "abc|end");
    close(p[0]);
}

// Everything destroyed in the "wrong" order and mid-flight: ASan reports any leak or misuse.
TEST(EventLoop, CleanShutdownWithLiveHandles) {
    auto server = must(UdpSocket::bind(SocketAddress::loopback(AddressFamily::v4, 0)));
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    std::optional<FdWatcher> w;
    std::optional<SignalWatcher> s;
    std::optional<InputReader> r;
    {
        auto loop = must(EventLoop::create());
        w.emplace(must(FdWatcher::create(loop, server.fd(), [](FdEvents) {})));
        s.emplace(must(SignalWatcher::create(loop, {SIGTERM, SIGINT}, [](int) {})));
        r.emplace(must(InputReader::create(loop, p[0], [](auto) {}, [](auto) {})));
        auto t = must(Timer::create(loop, [&loop] { loop.stop(); }));
        t.start(1ms);
        loop.run();
    }
    w->stop();
    r->pause();
    EXPECT_FALSE(w->start().has_value());
    close(p[0]);
    close(p[1]);
}
