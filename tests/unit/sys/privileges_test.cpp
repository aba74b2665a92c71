#include "libtime/sys/privileges.hpp"

#include <gtest/gtest.h>

#include <pwd.h>

using namespace timepipe;

// drop_privileges changes the test process for good: tests/305-ntp-serve-privileges.bats checks
// it on ntp-serve (/proc/PID/status Uid, Groups, CapEff, NoNewPrivs).

TEST(LookupUser, NameNumberAndUnknown) {
    const passwd* root = getpwnam("root");
    ASSERT_NE(root, nullptr);
    auto r = lookup_user("root");
    ASSERT_TRUE(r.has_value()) << r.error().what;
    EXPECT_EQ(r->uid, 0u);
    EXPECT_EQ(r->gid, root->pw_gid);
    EXPECT_EQ(r->name, "root");

    auto zero = lookup_user("0");  // numeric: root's entry, so root's group
    ASSERT_TRUE(zero.has_value()) << zero.error().what;
    EXPECT_EQ(zero->uid, 0u);
    EXPECT_EQ(zero->gid, root->pw_gid);

    auto unlisted = lookup_user("4000000001");  // no entry: its own number as group
    ASSERT_TRUE(unlisted.has_value()) << unlisted.error().what;
    EXPECT_EQ(unlisted->uid, 4000000001u);
    EXPECT_EQ(unlisted->gid, 4000000001u);

    for (const char* bad : {"no-such-user-timepipe", "", "12x", "-1"}) {
        auto b = lookup_user(bad);
        ASSERT_FALSE(b.has_value()) << bad;
        EXPECT_EQ(b.error().exit_code, EX_NOUSER) << bad;
        EXPECT_NE(b.error().what.find("no such user"), std::string::npos) << b.error().what;
    }
}
