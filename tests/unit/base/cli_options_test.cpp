// libtime/cli_options: the values, and the one EX_USAGE line naming the option (death tests).
#include "libtime/base/cli_options.hpp"

#include <gtest/gtest.h>

#include <sysexits.h>

#include "libtime/base/log.hpp"

using namespace timepipe;
using namespace std::chrono_literals;
using ::testing::ExitedWithCode;

TEST(CliOptions, Values) {
    EXPECT_EQ(int_option("-n", "4", 1, 10), 4);
    EXPECT_EQ(int_option("--minpoll", "-6", -6, 17), -6);
    EXPECT_EQ(duration_option("-t", "250ms"), 250ms);
    EXPECT_EQ(duration_option("-x", "1.5"), 1500ms);
    EXPECT_TRUE(on_off_option("--interleaved", "on"));
    EXPECT_FALSE(on_off_option("--interleaved", "off"));
    EXPECT_EQ(duration_or_zero_option("--batch-delay", "0"), 0ns);
    EXPECT_EQ(duration_or_zero_option("--batch-delay", "1ms"), 1ms);
    EXPECT_EQ(signed_duration_option("--offset", "-86400"), -86400s);
    EXPECT_EQ(signed_duration_option("--offset", "+1h"), 1h);
    EXPECT_EQ(signed_duration_option("--offset", "2.5s"), 2500ms);
    EXPECT_EQ(signed_duration_option("--offset", "-0"), 0ns);
}

// The program name is set in the child only: other tests keep theirs.
#define AS_TOOL(statement) (log::set_program("tool"), statement)

TEST(CliOptionsDeathTest, OneUsageLineNamingTheOption) {
    EXPECT_EXIT(AS_TOOL(int_option("--workers", "0", 1, 64)), ExitedWithCode(EX_USAGE),
                "^tool: --workers: \"0\" is not an integer from 1 to 64\n$");
    EXPECT_EXIT(AS_TOOL(int_option("-n", "3x", 1, 64)), ExitedWithCode(EX_USAGE), "\"3x\" is not an integer");
    EXPECT_EXIT(AS_TOOL(int_option("-n", "", 1, 64)), ExitedWithCode(EX_USAGE), "\"\" is not an integer");
    EXPECT_EXIT(AS_TOOL(int_option("-n", "99999999999999999999", 1, 64)), ExitedWithCode(EX_USAGE), "is not an integer");
    EXPECT_EXIT(AS_TOOL(duration_option("-t", "soon")), ExitedWithCode(EX_USAGE),
                "^tool: -t: bad duration \"soon\": not a number\n$");
    EXPECT_EXIT(AS_TOOL(on_off_option("--deny-kod", "yes")), ExitedWithCode(EX_USAGE),
                "^tool: --deny-kod: \"yes\" is not on or off\n$");
    EXPECT_EXIT(AS_TOOL(duration_or_zero_option("--batch-delay", "-1")), ExitedWithCode(EX_USAGE),
                "^tool: --batch-delay: bad duration \"-1\": negative\n$");
    EXPECT_EXIT(AS_TOOL(signed_duration_option("--offset", "-1d")), ExitedWithCode(EX_USAGE),
                "^tool: --offset: bad duration \"-1d\": unknown unit");
}
