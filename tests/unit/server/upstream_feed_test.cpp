// UpstreamFeed on a real event loop: a regular file followed like tail -F (appended, truncated,
// replaced, malformed), a FIFO whose writers come and go. Event-based: each step runs the loop
// until the samples expected have arrived (a watchdog fails a test that would hang).
#include "libtime/server/upstream_feed.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <functional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <variant>
#include <vector>

using namespace timepipe;
using namespace std::chrono_literals;

namespace {

std::vector<std::byte> sample_bytes(const std::string& source, double offset) {
    Sample s;
    s.source = source;
    s.time = 1'700'000'000'000'000'000;
    s.offset = offset;
    s.delay = 0.001;
    s.stratum = 2;
    s.poll = 6;
    return encode_record(to_record(s)).value();
}

std::vector<std::byte> tracking_bytes(const std::string& source) {
    Tracking t;
    t.source = source;
    t.time = 1'700'000'000'000'000'000;
    t.stratum = 3;
    t.refid = "192.0.2.1";
    t.leap = 0;
    t.synchronised = true;
    return encode_record(to_record(t)).value();
}

void write_all(int fd, const std::vector<std::byte>& bytes) {
    ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
}

void write_file(const std::string& path, const std::vector<std::byte>& bytes, int flags) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0600);
    ASSERT_GE(fd, 0);
    write_all(fd, bytes);
    ::close(fd);
}

struct UpstreamFeedTest : ::testing::Test {
    std::string dir;
    EventLoop loop = EventLoop::create().value();
    std::vector<std::string> sources;
    std::vector<std::optional<Error>> ends;

    void SetUp() override {
        char tmpl[] = "/tmp/upstream_feed_test.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }

    std::unique_ptr<UpstreamFeed> start(const std::string& path) {
        auto feed = UpstreamFeed::open(path);
        EXPECT_TRUE(feed.has_value());
        if (!feed) return nullptr;
        auto ok = (*feed)->start(
            loop,
            [this](const UpstreamRecord& r) {
                const bool tracking = std::holds_alternative<Tracking>(r);
                sources.push_back((tracking ? "tracking " : "") +
                                  std::visit([](const auto& x) { return x.source; }, r));
                return Result<void>{};
            },
            [this](std::optional<Error> e) { ends.push_back(std::move(e)); });
        EXPECT_TRUE(ok.has_value());
        return std::move(*feed);
    }

    // Runs the loop until `done` holds; false if the watchdog (10 s) ran out first.
    bool run_until(const std::function<bool()>& done) {
        bool timed_out = false;
        auto check = Timer::create(loop, [&] {
                         if (done()) loop.stop();
                     }).value();
        auto watchdog = Timer::create(loop, [&] {
                            timed_out = true;
                            loop.stop();
                        }).value();
        check.start(5ms, 5ms);
        watchdog.start(10s);
        loop.run();
        return !timed_out && done();
    }
};

}  // namespace

TEST_F(UpstreamFeedTest, ARegularFileIsFollowedLikeTailF) {
    const std::string path = dir + "/upstream.cbor";
    write_file(path, sample_bytes("ntp://192.0.2.1:123", 0), O_TRUNC);
    auto feed = start(path);
    ASSERT_TRUE(feed);
    EXPECT_FALSE(feed->can_end());
    ASSERT_TRUE(run_until([&] { return sources.size() == 1; }));

    // appended later, in two halves
    auto more = sample_bytes("ntp://192.0.2.2:123", 0);
    std::vector<std::byte> first(more.begin(), more.begin() + 10), rest(more.begin() + 10, more.end());
    write_file(path, first, O_APPEND);
    write_file(path, rest, O_APPEND);
    ASSERT_TRUE(run_until([&] { return sources.size() == 2; }));
    EXPECT_EQ(sources[1], "ntp://192.0.2.2:123");

    // truncated and written again: read from the start
    write_file(path, sample_bytes("ntp://192.0.2.3:123", 0), O_TRUNC);
    ASSERT_TRUE(run_until([&] { return sources.size() == 3; }));
    EXPECT_EQ(sources[2], "ntp://192.0.2.3:123");

    // replaced: a new file renamed over it
    auto both = sample_bytes("ntp://192.0.2.4:123", 0);
    auto five = sample_bytes("ntp://192.0.2.5:123", 0);
    both.insert(both.end(), five.begin(), five.end());
    write_file(path + ".new", both, O_TRUNC);
    std::filesystem::rename(path + ".new", path);
    ASSERT_TRUE(run_until([&] { return sources.size() == 5; }));
    EXPECT_EQ(sources[3], "ntp://192.0.2.4:123");
    EXPECT_EQ(sources[4], "ntp://192.0.2.5:123");
    EXPECT_TRUE(ends.empty());
}

TEST_F(UpstreamFeedTest, MalformedBytesInAFileAreIgnoredUntilItIsReplaced) {
    const std::string path = dir + "/upstream.cbor";
    auto bytes = sample_bytes("ntp://192.0.2.1:123", 0);
    bytes.push_back(std::byte{0xff});
    bytes.push_back(std::byte{0xff});
    write_file(path, bytes, O_TRUNC);
    auto feed = start(path);
    ASSERT_TRUE(feed);
    ASSERT_TRUE(run_until([&] { return sources.size() == 1; }));
    write_file(path, sample_bytes("ntp://192.0.2.2:123", 0), O_APPEND);  // after the garbage: ignored
    write_file(path + ".new", sample_bytes("ntp://192.0.2.3:123", 0), O_TRUNC);
    std::filesystem::rename(path + ".new", path);
    ASSERT_TRUE(run_until([&] { return sources.size() == 2; }));
    EXPECT_EQ(sources[1], "ntp://192.0.2.3:123");
    EXPECT_TRUE(ends.empty());
}

TEST_F(UpstreamFeedTest, AFifoIsReopenedWhenItsWriterGoes) {
    const std::string path = dir + "/upstream";
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    auto feed = start(path);  // opens at once, with no writer yet
    ASSERT_TRUE(feed);
    EXPECT_FALSE(feed->can_end());
    for (int writer = 1; writer <= 3; ++writer) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);  // the feed is reading: no wait
        ASSERT_GE(fd, 0);
        write_all(fd, sample_bytes("ntp://192.0.2." + std::to_string(writer) + ":123", 0));
        ::close(fd);
        ASSERT_TRUE(run_until([&] { return sources.size() == static_cast<std::size_t>(writer); })) << writer;
    }
    EXPECT_EQ(sources.back(), "ntp://192.0.2.3:123");
    EXPECT_TRUE(ends.empty());
}

TEST_F(UpstreamFeedTest, AMissingFileIsAnErrorAtOpen) {
    auto feed = UpstreamFeed::open(dir + "/none");
    ASSERT_FALSE(feed.has_value());
    EXPECT_EQ(feed.error().exit_code, EX_NOINPUT);
    EXPECT_EQ(feed.error().what, dir + "/none: No such file or directory");
}

// discipline's output on the way to ntp-serve: tracking records reach the server, adjust and
// refusal records are skipped, a broken tracking record is one warning and skipped.
TEST_F(UpstreamFeedTest, TrackingRecordsArePassedOnOtherTypesSkipped) {
    const std::string path = dir + "/upstream.cbor";
    auto bytes = sample_bytes("ntp://192.0.2.1:123", 0);
    Adjust a;
    a.source = "ntp://192.0.2.1:123";
    a.time = 1'700'000'000'000'000'000;
    a.frequency = 1.5;
    auto adj = encode_record(to_record(a)).value();
    auto tr = tracking_bytes("ntp://192.0.2.1:123");
    Record broken = to_record(Tracking{});
    broken["stratum"] = "three";
    auto bad = encode_record(broken).value();
    for (const auto* part : {&adj, &bad, &tr}) bytes.insert(bytes.end(), part->begin(), part->end());
    write_file(path, bytes, O_TRUNC);
    auto feed = start(path);
    ASSERT_TRUE(feed);
    ASSERT_TRUE(run_until([&] { return sources.size() == 2; }));
    EXPECT_EQ(sources[0], "ntp://192.0.2.1:123");
    EXPECT_EQ(sources[1], "tracking ntp://192.0.2.1:123");
}
