// libtime/sys/resolve: numeric fast path, names from /etc/hosts, and bounded resolution: a
// lookup that does not answer is abandoned after the bound, and its late answer is dropped.
#include "libtime/sys/resolve.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <poll.h>

using namespace timepipe;
using namespace std::chrono_literals;

namespace {

bool readable(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) != 0;
}

HostPort host(std::string name, std::optional<std::uint16_t> port = std::nullopt) {
    HostPort hp;
    hp.host = std::move(name);
    hp.port = port;
    return hp;
}

}  // namespace

TEST(Resolve, NumericAddressesNeedNoLookup) {
    auto r = resolve(host("127.0.0.1", 5123), 123, Family::any, 0ns);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].to_string(), "127.0.0.1:5123");
    auto v6 = resolve(host("::1"), 123, Family::v4, 0ns);
    ASSERT_FALSE(v6.has_value());
    EXPECT_EQ(v6.error().exit_code, EX_NOHOST);
}

TEST(Resolve, LocalhostWithinABound) {
    auto r = resolve(host("localhost"), 123, Family::v4, 30s);
    ASSERT_TRUE(r.has_value()) << r.error().what;
    EXPECT_EQ((*r)[0].to_string(), "127.0.0.1:123");
}

TEST(PendingResolution, AnswerArrivesThroughTheFd) {
    auto p = PendingResolution::start(host("127.0.0.2"), 123);
    ASSERT_TRUE(p.has_value());
    ASSERT_TRUE(readable(p->fd(), 30'000));
    auto a = p->take();
    ASSERT_TRUE(a.has_value());
    ASSERT_TRUE(a->has_value());
    EXPECT_EQ((**a)[0].to_string(), "127.0.0.2:123");
    EXPECT_FALSE(p->take().has_value());  // once
    EXPECT_FALSE(readable(p->fd(), 0));   // and the fd is quiet again
}

TEST(PendingResolution, ALookupThatHangsIsAbandonedAfterTheBound) {
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    auto p = PendingResolution::start([released]() -> PendingResolution::Answer {
        released.wait();  // a dead resolver
        return fail("name or service not known", EX_NOHOST);
    });
    ASSERT_TRUE(p.has_value());
    EXPECT_FALSE(p->wait_for(10ms).has_value());
    EXPECT_FALSE(readable(p->fd(), 0));
    release.set_value();  // the answer comes late, and is there to take
    ASSERT_TRUE(readable(p->fd(), 30'000));
    auto a = p->take();
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->error().exit_code, EX_NOHOST);
}

TEST(PendingResolution, DestroyedWhileTheLookupRuns) {
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    auto finished = std::make_shared<std::promise<void>>();
    auto done = finished->get_future();
    {
        auto p = PendingResolution::start([released, finished]() -> PendingResolution::Answer {
            released.wait();
            finished->set_value();
            return std::vector<SocketAddress>{};
        });
        ASSERT_TRUE(p.has_value());
    }  // abandoned: the helper thread keeps what it writes into alive
    release.set_value();
    EXPECT_EQ(done.wait_for(30s), std::future_status::ready);
}
