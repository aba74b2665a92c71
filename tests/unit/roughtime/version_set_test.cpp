// libtime/roughtime/version_set: --version-set names, aliases and refusals.
#include "libtime/roughtime/version_set.hpp"

#include <gtest/gtest.h>


using namespace timepipe;
using namespace timepipe::roughtime;

TEST(RoughtimeVersionSet, VersionSets) {
    EXPECT_EQ(*parse_version_set("rfc"), std::vector{Version::Rfc});
    EXPECT_EQ(*parse_version_set("draft-12"), std::vector{Version::Draft12});
    EXPECT_EQ(*parse_version_set("draft12"), std::vector{Version::Draft12});
    EXPECT_EQ(*parse_version_set("draft08,draft-11"), (std::vector{Version::Draft08, Version::Draft11}));
    EXPECT_EQ(*parse_version_set("google"), std::vector{Version::Google});
    EXPECT_EQ(*parse_version_set("ietf"), default_versions());
    EXPECT_EQ(*parse_version_set("all"), default_versions());
    EXPECT_EQ(*parse_version_set("rfc,rfc"), std::vector{Version::Rfc});
    const auto ietf = default_versions();
    EXPECT_EQ(ietf.size(), 4u);
    EXPECT_EQ(std::count(ietf.begin(), ietf.end(), Version::Google), 0);
    for (const char* bad : {"", "rfc,", "draft13", "RFC", "google,rfc", "ietf,google"}) {
        auto r = parse_version_set(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().exit_code, EX_USAGE);
    }
    EXPECT_EQ(parse_version_set("x").error().what,
              "unknown version \"x\" (rfc, draft-12, draft-11, draft-08, google, ietf)");
    for (const auto& t : all_versions())  // every short name reads back
        EXPECT_EQ(*parse_version_set(short_name(t.version)), std::vector{t.version});
}
