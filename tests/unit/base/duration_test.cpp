// libtime/duration: every unit, the forms a number may take, each rejection with its reason, the
// limits, and a randomized round trip through "S.NNNNNNNNN" and "Nns" (TIMEPIPE_SEED=N replays).
#include "libtime/base/duration.hpp"

#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <limits>
#include <random>
#include <string>

#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace std::chrono_literals;
using std::chrono::nanoseconds;

namespace {

nanoseconds duration_of(std::string_view text) {
    auto d = parse_duration(text);
    EXPECT_TRUE(d.has_value()) << '"' << text << "\": " << (d ? "" : d.error().what);
    return d ? *d : nanoseconds{-1};
}

std::string duration_error(std::string_view text) {
    auto d = parse_duration(text);
    EXPECT_FALSE(d.has_value()) << '"' << text << "\" parsed as " << (d ? d->count() : 0) << " ns";
    if (d) return "parsed";
    EXPECT_EQ(d.error().exit_code, EX_USAGE) << text;
    return d.error().what;
}

}  // namespace

TEST(Duration, DevelopersMdForms) {
    EXPECT_EQ(duration_of("1.5"), 1500ms);
    EXPECT_EQ(duration_of("250ms"), 250ms);
    EXPECT_EQ(duration_of("2s"), 2s);
}

TEST(Duration, EveryUnit) {
    EXPECT_EQ(duration_of("100ns"), 100ns);
    EXPECT_EQ(duration_of("500us"), 500us);
    EXPECT_EQ(duration_of("7ms"), 7ms);
    EXPECT_EQ(duration_of("3s"), 3s);
    EXPECT_EQ(duration_of("3"), 3s);
    EXPECT_EQ(duration_of("10m"), 10min);
    EXPECT_EQ(duration_of("1h"), 1h);
}

TEST(Duration, NumberForms) {
    EXPECT_EQ(duration_of("0.25"), 250ms);
    EXPECT_EQ(duration_of(".25"), 250ms);
    EXPECT_EQ(duration_of("2."), 2s);
    EXPECT_EQ(duration_of("007s"), 7s);
    EXPECT_EQ(duration_of("1.5m"), 90s);
    EXPECT_EQ(duration_of("0.5h"), 30min);
    EXPECT_EQ(duration_of("1.5us"), 1500ns);
    EXPECT_EQ(duration_of("0.1"), 100ms);  // exact: no binary floating point on the way
    EXPECT_EQ(duration_of("0.3"), 300ms);
    EXPECT_EQ(duration_of("1.000000001"), 1s + 1ns);
}

TEST(Duration, TruncatesBelowOneNanosecond) {
    EXPECT_EQ(duration_of("1.9ns"), 1ns);
    EXPECT_EQ(duration_of("1.0000000019"), 1s + 1ns);
    EXPECT_EQ(duration_of("0.0000000019999999999999999999999"), 1ns);  // digits past the 18th are ignored
    EXPECT_EQ(duration_of("0.000000000000277778h"), 1ns);              // 1.0000008 ns
}

TEST(Duration, Limits) {
    EXPECT_EQ(duration_of("1ns"), 1ns);
    EXPECT_EQ(duration_of("9223372036854775807ns"), nanoseconds::max());
    EXPECT_EQ(duration_of("9223372036.854775807"), nanoseconds::max());
    EXPECT_EQ(duration_error("9223372036854775808ns"), "too long (more than 292 years)");
    EXPECT_EQ(duration_error("9223372036.854775808"), "too long (more than 292 years)");
    EXPECT_EQ(duration_error("2562048h"), "too long (more than 292 years)");
    EXPECT_EQ(duration_error("99999999999999999999999999999999999999999999h"), "too long (more than 292 years)");
}

TEST(Duration, Rejections) {
    EXPECT_EQ(duration_error(""), "empty");
    EXPECT_EQ(duration_error("-1"), "negative");
    EXPECT_EQ(duration_error("-1s"), "negative");
    EXPECT_EQ(duration_error("-0"), "negative");
    EXPECT_EQ(duration_error("0"), "zero");
    EXPECT_EQ(duration_error("0s"), "zero");
    EXPECT_EQ(duration_error("0.000"), "zero");
    EXPECT_EQ(duration_error("0.5ns"), "shorter than 1ns");
    EXPECT_EQ(duration_error("0.0000000000000000000001"), "shorter than 1ns");
    for (const char* text : {"soon", "nan", "NaN", "inf", "infinity", "+1", " 1", ".", "s", "ms", "\t2s"})
        EXPECT_EQ(duration_error(text), "not a number") << text;
    EXPECT_EQ(duration_error("1x"), "unknown unit \"x\" (ns, us, ms, s, m, h)");
    EXPECT_EQ(duration_error("1 s"), "unknown unit \" s\" (ns, us, ms, s, m, h)");
    EXPECT_EQ(duration_error("1e3"), "unknown unit \"e3\" (ns, us, ms, s, m, h)");
    EXPECT_EQ(duration_error("0x10"), "unknown unit \"x10\" (ns, us, ms, s, m, h)");
    EXPECT_EQ(duration_error("1S"), "unknown unit \"S\" (ns, us, ms, s, m, h)");
    EXPECT_EQ(duration_error("1sec"), "unknown unit \"sec\" (ns, us, ms, s, m, h)");
    EXPECT_EQ(duration_error("1.5.5"), "unknown unit \".5\" (ns, us, ms, s, m, h)");
    EXPECT_EQ(duration_error("2s "), "unknown unit \"s \" (ns, us, ms, s, m, h)");
    EXPECT_EQ(duration_error(std::string_view("1\0s", 3)),
              std::string("unknown unit \"") + '\0' + "s\" (ns, us, ms, s, m, h)");
}

// Any duration printed as seconds with nine decimals, or as nanoseconds, parses back to itself.
TEST(Duration, RandomRoundTrip) {
    const std::uint64_t seed = test::test_seed("Duration.RandomRoundTrip");
    SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 20'000; ++i) {
        // Spread over every magnitude, 1 ns to the maximum.
        const int bits = static_cast<int>(rng() % 63) + 1;
        std::int64_t ns = static_cast<std::int64_t>(rng() >> (64 - bits));
        if (ns == 0) ns = 1;
        char text[48];
        std::snprintf(text, sizeof text, "%" PRId64 ".%09" PRId64, ns / 1'000'000'000, ns % 1'000'000'000);
        ASSERT_EQ(duration_of(text), nanoseconds(ns)) << text;
        std::snprintf(text, sizeof text, "%" PRId64 "ns", ns);
        ASSERT_EQ(duration_of(text), nanoseconds(ns)) << text;
    }
}
