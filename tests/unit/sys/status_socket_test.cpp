// libtime/sys/status_socket: each client gets the callback's bytes then EOF, concurrently; a
// silent client neither stalls the others nor the destructor; clients beyond the bound are
// closed at once; a stale socket file is replaced, a live one is "in use", the file's mode is
// what was asked; the client side's errors carry their sysexits codes.
#include "libtime/sys/status_socket.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

using namespace timepipe;
using namespace std::chrono_literals;

namespace {

class StatusSocketTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl = ::testing::TempDir() + "status_socket_test.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
        path_ = dir_ + "/status.sock";
    }
    void TearDown() override {
        ::unlink(path_.c_str());
        ::rmdir(dir_.c_str());
    }
    std::string dir_;
    std::string path_;
};

std::vector<std::byte> bytes_of(std::string_view s) {
    std::vector<std::byte> out;
    for (char c : s) out.push_back(static_cast<std::byte>(c));
    return out;
}

// A raw client: connected, reading nothing until told.
int raw_connect(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.data(), path.size());
    EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
    return fd;
}

// Reads to EOF (or an error): what a raw client got.
std::size_t drain(int fd) {
    std::size_t total = 0;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) return total;
        total += static_cast<std::size_t>(n);
    }
}

}  // namespace

TEST_F(StatusSocketTest, ServesTheSnapshotThenEofWithTheModeAsked) {
    int calls = 0;
    auto s = StatusSocket::open(path_, 0640, [&] {
        ++calls;
        return bytes_of("snapshot " + std::to_string(calls));
    });
    ASSERT_TRUE(s) << s.error().what;
    struct stat st{};
    ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    auto a = read_status_socket(path_, 5s, 1 << 20);
    ASSERT_TRUE(a) << a.error().what;
    EXPECT_EQ(*a, bytes_of("snapshot 1"));
    auto b = read_status_socket(path_, 5s, 1 << 20);
    ASSERT_TRUE(b) << b.error().what;
    EXPECT_EQ(*b, bytes_of("snapshot 2"));
    EXPECT_EQ(s->served(), 2u);
    EXPECT_EQ(s->path(), path_);
}

TEST_F(StatusSocketTest, DefaultModeIsReadableByEveryone) {
    auto s = StatusSocket::open(path_, 0666, [] { return bytes_of("x"); });
    ASSERT_TRUE(s);
    struct stat st{};
    ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0666u);
}

TEST_F(StatusSocketTest, ConcurrentClientsEachGetTheWholeSnapshot) {
    // 64 KiB: more than one send on a loaded machine, small enough to stay within the bound.
    std::vector<std::byte> big(65536);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>(i * 7);
    auto s = StatusSocket::open(path_, 0666, [&] { return big; }, {5s, 64});
    ASSERT_TRUE(s);
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 10; ++i) {
                auto got = read_status_socket(path_, 10s, 1 << 20);
                if (got && *got == big) ++good;
                else ADD_FAILURE() << (got ? "wrong bytes" : got.error().what);
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(good.load(), 80);
    EXPECT_EQ(s->served(), 80u);
}

TEST_F(StatusSocketTest, ASilentClientStallsNobodyAndIsDroppedAtTheTimeout) {
    // Larger than a socket buffer: the silent client's send cannot complete.
    std::vector<std::byte> big(8 << 20, std::byte{0x5a});
    // A bound the reading client's 8 MiB take well within, even sanitized on a slow machine
    // (100 ms was not: the reader itself was cut off there).
    auto s = StatusSocket::open(path_, 0666, [&] { return big; }, {1s, 4});
    ASSERT_TRUE(s);
    const int silent = raw_connect(path_);
    auto got = read_status_socket(path_, 10s, 16 << 20);
    ASSERT_TRUE(got) << got.error().what;
    EXPECT_EQ(got->size(), big.size());
    // The silent client, once it reads, finds its snapshot cut short: it was dropped.
    std::this_thread::sleep_for(1500ms);   // well past its 1 s
    EXPECT_LT(drain(silent), big.size());
    ::close(silent);
    EXPECT_EQ(s->dropped(), 1u);
}

TEST_F(StatusSocketTest, ClientsBeyondTheBoundAreClosedAtOnce) {
    std::vector<std::byte> big(8 << 20, std::byte{1});
    auto s = StatusSocket::open(path_, 0666, [&] { return big; }, {30s, 2});
    ASSERT_TRUE(s);
    const int a = raw_connect(path_);
    const int b = raw_connect(path_);
    // Wait until both are taken (served from the thread): a third is closed without a byte.
    while (true) {
        const int c = raw_connect(path_);
        const std::size_t n = drain(c);
        ::close(c);
        if (n == 0) break;   // the bound held: closed at once
        // n > 0: the server had not yet accepted a or b when c came; c was served whole.
        ASSERT_EQ(n, big.size());
    }
    EXPECT_GE(s->dropped(), 1u);
    EXPECT_EQ(drain(a), big.size());
    EXPECT_EQ(drain(b), big.size());
    ::close(a);
    ::close(b);
}

TEST_F(StatusSocketTest, AClientThatSendsSomethingStillGetsTheSnapshot) {
    auto s = StatusSocket::open(path_, 0666, [] { return bytes_of("answer"); });
    ASSERT_TRUE(s);
    const int fd = raw_connect(path_);
    ASSERT_EQ(::write(fd, "sources\n", 8), 8);
    std::this_thread::sleep_for(50ms);
    char buf[64];
    std::size_t total = 0;
    for (;;) {
        const ssize_t n = ::read(fd, buf + total, sizeof buf - total);
        ASSERT_GE(n, 0) << std::strerror(errno);
        if (n == 0) break;
        total += static_cast<std::size_t>(n);
    }
    EXPECT_EQ(std::string(buf, total), "answer");
    ::close(fd);
}

TEST_F(StatusSocketTest, AStaleSocketFileIsReplaced) {
    {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::memcpy(a.sun_path, path_.data(), path_.size());
        ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
        ::close(fd);   // the file stays: a dead process's socket
    }
    auto s = StatusSocket::open(path_, 0666, [] { return bytes_of("new"); });
    ASSERT_TRUE(s) << s.error().what;
    auto got = read_status_socket(path_, 5s, 100);
    ASSERT_TRUE(got) << got.error().what;
    EXPECT_EQ(*got, bytes_of("new"));
}

TEST_F(StatusSocketTest, ALiveSocketIsInUseAndKeepsAnswering) {
    auto first = StatusSocket::open(path_, 0666, [] { return bytes_of("first"); });
    ASSERT_TRUE(first);
    auto second = StatusSocket::open(path_, 0666, [] { return bytes_of("second"); });
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().exit_code, EX_UNAVAILABLE);
    EXPECT_EQ(second.error().what, path_ + ": in use by a running process");
    auto got = read_status_socket(path_, 5s, 100);
    ASSERT_TRUE(got) << got.error().what;
    EXPECT_EQ(*got, bytes_of("first"));
}

TEST_F(StatusSocketTest, AnotherKindOfFileIsNotReplaced) {
    const int fd = ::open(path_.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ::close(fd);
    auto s = StatusSocket::open(path_, 0666, [] { return bytes_of("x"); });
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().exit_code, EX_CANTCREAT);
    EXPECT_EQ(s.error().what, path_ + ": exists and is not a socket");
    struct stat st{};
    ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(StatusSocketTest, DestructorJoinsWithASilentClientAndRemovesTheFile) {
    std::vector<std::byte> big(8 << 20, std::byte{2});
    int silent = -1;
    {
        auto s = StatusSocket::open(path_, 0666, [&] { return big; }, {60s, 4});
        ASSERT_TRUE(s);
        silent = raw_connect(path_);
        // Make sure the server took it (a second client is answered only after accept_all).
        auto got = read_status_socket(path_, 10s, 16 << 20);
        ASSERT_TRUE(got);
    }   // must return although the silent client's 60 s are not over
    struct stat st{};
    EXPECT_NE(::lstat(path_.c_str(), &st), 0);
    EXPECT_LT(drain(silent), big.size());
    ::close(silent);
    auto gone = read_status_socket(path_, 1s, 100);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().exit_code, EX_NOINPUT);
}

TEST_F(StatusSocketTest, DestructorLeavesASocketThatReplacedOurs) {
    auto old = StatusSocket::open(path_, 0666, [] { return bytes_of("old"); });
    ASSERT_TRUE(old);
    ASSERT_EQ(::unlink(path_.c_str()), 0);
    auto fresh = StatusSocket::open(path_, 0666, [] { return bytes_of("fresh"); });
    ASSERT_TRUE(fresh) << fresh.error().what;
    { auto dying = std::move(*old); }
    auto got = read_status_socket(path_, 5s, 100);
    ASSERT_TRUE(got) << got.error().what;
    EXPECT_EQ(*got, bytes_of("fresh"));
}

TEST_F(StatusSocketTest, ClientErrors) {
    auto missing = read_status_socket(path_, 1s, 100);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().exit_code, EX_NOINPUT);

    auto too_long = read_status_socket(std::string(200, 'x'), 1s, 100);
    ASSERT_FALSE(too_long);
    EXPECT_EQ(too_long.error().exit_code, EX_USAGE);

    {
        auto s = StatusSocket::open(path_, 0666, [] { return bytes_of("0123456789"); });
        ASSERT_TRUE(s);
        auto big = read_status_socket(path_, 5s, 9);
        ASSERT_FALSE(big);
        EXPECT_EQ(big.error().exit_code, EX_DATAERR);
        EXPECT_EQ(big.error().what, path_ + ": answer longer than 9 bytes");
        auto exact = read_status_socket(path_, 5s, 10);
        ASSERT_TRUE(exact);
    }

    // A listener that never accepts nor answers: no EOF within the timeout.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path_.data(), path_.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd, 4), 0);
    auto silent = read_status_socket(path_, 200ms, 100);
    ASSERT_FALSE(silent);
    EXPECT_EQ(silent.error().exit_code, EX_UNAVAILABLE);
    EXPECT_NE(silent.error().what.find("no answer within"), std::string::npos);
    ::close(fd);   // the file stays: now stale, refused
    auto refused = read_status_socket(path_, 1s, 100);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().exit_code, EX_UNAVAILABLE);
    EXPECT_EQ(refused.error().what, path_ + ": connection refused (is the tool running?)");
}

TEST(StatusSocketProcess, ThisProcessStartedBeforeNow) {
    auto id = this_process();
    EXPECT_EQ(id.pid, ::getpid());
    const UnixNanos now = wall_clock_now();
    EXPECT_LE(id.started, now);
    // Started within the last day: a unit test run is not older (and start time is not 0).
    EXPECT_GT(id.started, now - 86400 * kNanosPerSecond);
}
