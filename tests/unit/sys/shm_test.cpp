// libtime/sys/shm: attaching segments (a private one on the host; ntpd's keys only inside a
// private IPC namespace of a child process, so the host's gpsd/chronyd segments are never seen),
// their permissions and size, and the protocol across two attachments of one segment.
#include "libtime/sys/shm.hpp"

#include <gtest/gtest.h>

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace timepipe;
using namespace timepipe::refclock;

TEST(ShmSegment, PrivateSegmentCarriesTheProtocol) {
    auto seg = ShmSegment::create_private();
    ASSERT_TRUE(seg) << seg.error().what;
    EXPECT_EQ(*seg->perm(), 0600);
    EXPECT_GE(*seg->size(), sizeof(ShmTime));
    ShmReader r;
    EXPECT_EQ(r.read(seg->time()), ShmRead::not_valid);  // a new segment is zeroed
    write_shm(seg->time(), {2'000'000'000'000'000'000, 1'999'999'999'999'000'000, 0, -20, 0});
    ASSERT_EQ(r.read(seg->time()), ShmRead::fresh);
    EXPECT_DOUBLE_EQ(r.sample().offset(), 1e-3);
    ShmSegment moved = std::move(*seg);
    EXPECT_EQ(r.read(moved.time()), ShmRead::stale);
}

TEST(ShmSegment, UnitOutOfRange) {
    auto seg = ShmSegment::attach(256, {});
    ASSERT_FALSE(seg);
    EXPECT_EQ(seg.error().exit_code, EX_USAGE);
}

// In a child in its own IPC namespace: create unit 0 (0600) and unit 2 (0666), write through one
// attachment and read through another, read-only; a missing unit without create is
// EX_UNAVAILABLE. Exit status = the number of the first check that failed.
TEST(ShmSegment, NtpdKeysInAPrivateIpcNamespace) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (::unshare(CLONE_NEWIPC) != 0) ::_exit(99);
        auto w = ShmSegment::attach(0, {.perm = default_shm_perm(0)});
        if (!w) ::_exit(1);
        if (*w->perm() != 0600) ::_exit(2);
        auto w2 = ShmSegment::attach(2, {.perm = default_shm_perm(2)});
        if (!w2 || *w2->perm() != 0666) ::_exit(3);
        auto r = ShmSegment::attach(0, {.create = false, .read_only = true});
        if (!r || r->id() != w->id()) ::_exit(4);
        write_shm(w->time(), {7'000'000'123, 7'000'000'000, 1, -10, 0});
        ShmReader reader;
        if (reader.read(r->time()) != ShmRead::fresh || reader.sample().clock != 7'000'000'123) ::_exit(5);
        auto missing = ShmSegment::attach(5, {.create = false});
        if (missing || missing.error().exit_code != EX_UNAVAILABLE) ::_exit(6);
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 99) GTEST_SKIP() << "unshare(CLONE_NEWIPC) refused: needs root (CAP_SYS_ADMIN)";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "check " << WEXITSTATUS(status) << " failed";
}
