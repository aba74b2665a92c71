// libtime/sys/name_resolver: a name that fails is retried on its schedule until it resolves,
// a lookup that cannot start is given up, and refresh() looks again at most once per interval.
// Lookups are fakes (PendingResolution::start(work)); every wait is for an event.
#include "libtime/sys/name_resolver.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <sysexits.h>

#include "tests/unit/sys/sys_support.hpp"

using namespace timepipe;
using namespace std::chrono_literals;

namespace {

using timepipe::test::Watchdog;

SocketAddress address(const char* text) { return *parse_address(text, 123); }

// Answers the lookups in turn from `answers` (the last one again when they run out).
struct FakeLookups {
    std::vector<PendingResolution::Answer> answers;
    std::shared_ptr<std::atomic<int>> count = std::make_shared<std::atomic<int>>(0);
    NameResolver::Lookup lookup() {
        return [this] {
            const int i = (*count)++;
            auto a = answers[std::min<std::size_t>(static_cast<std::size_t>(i), answers.size() - 1)];
            return PendingResolution::start([a] { return a; });
        };
    }
};

}  // namespace

TEST(NameResolver, RetriesUntilItResolvesAndSaysEachFailureOnce) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.has_value());
    Watchdog dog(*loop);
    FakeLookups fake;
    fake.answers = {fail("name or service not known", EX_NOHOST), fail("name or service not known", EX_NOHOST),
                    fail("temporary failure in name resolution", EX_TEMPFAIL),
                    std::vector<SocketAddress>{address("192.0.2.1"), address("192.0.2.2")}};
    std::vector<SocketAddress> got;
    int settled = 0;
    NameResolver name(*loop, "example.org", fake.lookup(), RetrySchedule(-6, -5),
                      {.on_addresses =
                           [&](const std::vector<SocketAddress>& a) {
                               got = a;
                               return a.size();
                           },
                       .on_settled =
                           [&] {
                               ++settled;
                               loop->stop();
                           }});
    EXPECT_FALSE(name.waiting());
    testing::internal::CaptureStderr();
    name.start();
    EXPECT_TRUE(name.waiting());
    loop->run();
    const std::string said = testing::internal::GetCapturedStderr();
    EXPECT_EQ(*fake.count, 4);
    EXPECT_EQ(settled, 1);
    EXPECT_FALSE(name.waiting());
    EXPECT_TRUE(name.resolved());
    EXPECT_EQ(name.failure(), "");
    EXPECT_EQ(name.exit_code(), 0);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[1].to_string(), "192.0.2.2:123");
    // The same failure twice is said once; a new one again; then that it resolved.
    EXPECT_EQ(said.find("example.org: name or service not known; retrying"),
              said.rfind("example.org: name or service not known; retrying"));
    EXPECT_NE(said.find("example.org: temporary failure in name resolution; retrying"), std::string::npos);
    EXPECT_NE(said.find("example.org: resolved"), std::string::npos);
}

TEST(NameResolver, ALookupThatCannotStartIsGivenUp) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.has_value());
    int lookups = 0, settled = 0;
    NameResolver name(
        *loop, "example.org",
        [&]() -> Result<PendingResolution> {
            ++lookups;
            return fail("cannot start a thread", EX_OSERR);
        },
        RetrySchedule(-6, -6), {.on_addresses = {}, .on_settled = [&] { ++settled; }});
    testing::internal::CaptureStderr();
    name.start();
    EXPECT_NE(testing::internal::GetCapturedStderr().find("example.org: cannot start a thread"), std::string::npos);
    EXPECT_EQ(lookups, 1);
    EXPECT_EQ(settled, 1);
    EXPECT_FALSE(name.waiting());
    EXPECT_FALSE(name.resolved());
    EXPECT_EQ(name.failure(), "cannot start a thread");
    EXPECT_EQ(name.exit_code(), EX_OSERR);
}

TEST(NameResolver, RefreshLooksAgainAtMostOncePerInterval) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop.has_value());
    Watchdog dog(*loop);
    FakeLookups fake;
    fake.answers = {std::vector<SocketAddress>{address("192.0.2.1")}};
    std::size_t take = 1;
    int answers = 0;
    NameResolver name(*loop, "pool.example", fake.lookup(), RetrySchedule(6, 10),  // 64 s, 128 s, ...
                      {.on_addresses =
                           [&](const std::vector<SocketAddress>&) {
                               ++answers;
                               return take;
                           },
                       .on_settled = [&] { loop->stop(); }});
    const std::int64_t t = 1'000'000'000'000;
    const std::int64_t s = 1'000'000'000;
    name.refresh(t);  // never resolved (an address, or not yet): nothing to refresh
    EXPECT_EQ(*fake.count, 0);
    name.start();
    loop->run();
    EXPECT_EQ(*fake.count, 1);

    name.refresh(t);      // a source stopped answering: look again
    name.refresh(t);      // one lookup at a time
    EXPECT_EQ(*fake.count, 2);
    loop->run();
    EXPECT_EQ(answers, 2);
    name.refresh(t + 63 * s);  // not before 64 s
    EXPECT_EQ(*fake.count, 2);
    take = 0;                  // from now on no address is taken: the waits grow
    name.refresh(t + 64 * s);  // the schedule started over when an address was taken: 64 s
    EXPECT_EQ(*fake.count, 3);
    loop->run();
    name.refresh(t + 127 * s);
    EXPECT_EQ(*fake.count, 3);
    name.refresh(t + 128 * s);  // allowed, and the next gate is 128 s on
    EXPECT_EQ(*fake.count, 4);
    loop->run();
    name.refresh(t + 255 * s);
    EXPECT_EQ(*fake.count, 4);
    name.refresh(t + 256 * s);
    EXPECT_EQ(*fake.count, 5);
    loop->run();
    EXPECT_EQ(answers, 5);
}
