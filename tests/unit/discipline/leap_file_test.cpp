// The leap-seconds.list parser: tzdata's real file, a broken hash, expiry, the leap day.
#include "libtime/discipline/leap_file.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace timepipe::discipline {
namespace {

std::string real_file() {
    std::ifstream in("tests/data/leap-seconds.list");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

UnixNanos unix_ns(std::int64_t s) { return s * kNanosPerSecond; }

TEST(LeapFile, ParsesTheTzdataFile) {
    auto text = real_file();
    ASSERT_FALSE(text.empty()) << "tests/data/leap-seconds.list (run from the source tree)";
    auto t = parse_leap_file(text);
    ASSERT_TRUE(t) << t.error().what;
    EXPECT_EQ(t->entries.size(), 28u);
    EXPECT_EQ(t->entries.front().tai_offset, 10);
    EXPECT_EQ(t->entries.back().tai_offset, 37);
    EXPECT_EQ(t->expires, 3991593600);
}

TEST(LeapFile, AnnouncesOnlyOnTheDayOfTheLeap) {
    auto t = parse_leap_file(real_file());
    ASSERT_TRUE(t);
    // 2016-12-31 (the last leap, 37 from 2017-01-01): inserted at the end of that day.
    EXPECT_EQ(leap_on_day(*t, unix_ns(1483228800 - 3600)), 1);
    EXPECT_EQ(leap_on_day(*t, unix_ns(1483228800 - 86400 - 1)), 0);  // the day before
    EXPECT_EQ(leap_on_day(*t, unix_ns(1483228800)), 0);              // the day after
    EXPECT_EQ(leap_on_day(*t, unix_ns(1700000000)), 0);
}

TEST(LeapFile, Expiry) {
    auto t = parse_leap_file(real_file());
    ASSERT_TRUE(t);
    EXPECT_FALSE(leap_file_expired(*t, unix_ns(3991593600 - kNtpToUnixSeconds - 1)));
    EXPECT_TRUE(leap_file_expired(*t, unix_ns(3991593600 - kNtpToUnixSeconds)));
}

TEST(LeapFile, BadHashIsRefused) {
    auto text = real_file();
    auto at = text.find("3960835200");  // the last-update time
    ASSERT_NE(at, std::string::npos);
    text[at + 9] = '1';  // one digit changed
    auto t = parse_leap_file(text);
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().what.find("SHA-1 mismatch"), std::string::npos) << t.error().what;
}

TEST(LeapFile, MalformedInputsNameTheLine) {
    EXPECT_FALSE(parse_leap_file(""));
    auto t = parse_leap_file("#$ 1\n#@ 2\nfoo bar\n");
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().what, "line 3: not two numbers");
    EXPECT_EQ(parse_leap_file("#$ 1\n2272060800 10\n#h 0 0 0 0 0\n").error().what, "no expiry (#@) line");
    EXPECT_EQ(parse_leap_file("#$ 1\n#@ 2\n2272060800 10\n").error().what, "no hash (#h) line");
    EXPECT_EQ(parse_leap_file("#$ 1\n#@ 2\n2272060800 10\n2272060800 11\n").error().what,
              "line 4: not after the line before");
    EXPECT_EQ(parse_leap_file("#$ 1\n#@ 2\n#h 1 2 3\n").error().what, "line 3: not five hex words");
}

TEST(LeapFile, LastDayOfMonth) {
    EXPECT_TRUE(last_day_of_month(unix_ns(1483228800 - 1)));   // 2016-12-31
    EXPECT_FALSE(last_day_of_month(unix_ns(1483228800)));      // 2017-01-01
    EXPECT_TRUE(last_day_of_month(unix_ns(1435708800 - 10)));  // 2015-06-30
    EXPECT_TRUE(last_day_of_month(unix_ns(951782400 + 10)));   // 2000-02-29
    EXPECT_FALSE(last_day_of_month(unix_ns(951696000 + 10)));  // 2000-02-28
}

}  // namespace
}  // namespace timepipe::discipline
