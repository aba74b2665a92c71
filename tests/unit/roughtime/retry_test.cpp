// libtime/roughtime/retry: exponential backoff, capped.
#include "libtime/roughtime/retry.hpp"

#include <gtest/gtest.h>


using namespace timepipe;
using namespace timepipe::roughtime;

TEST(RoughtimeRetry, RetryBackoff) {
    using std::chrono::milliseconds;
    RetryPlan p;
    p.timeout = milliseconds(100);
    p.retries = 3;
    EXPECT_EQ(p.tries(), 4);
    EXPECT_EQ(p.try_timeout(0), milliseconds(100));
    EXPECT_EQ(p.try_timeout(1), milliseconds(200));
    EXPECT_EQ(p.try_timeout(3), milliseconds(800));
    EXPECT_EQ(p.total(), milliseconds(1500));
    p.max_timeout = milliseconds(300);
    EXPECT_EQ(p.try_timeout(3), milliseconds(300));
    EXPECT_EQ(p.try_timeout(60), milliseconds(300));  // no overflow
    p.retries = 0;
    EXPECT_EQ(p.total(), milliseconds(100));
}
