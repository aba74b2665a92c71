// libtime/observe/prometheus: the text exposition format 0.0.4 — names, escaping, Go's float
// layout (fixed vectors as strconv.FormatFloat(v, 'g', -1, 64) prints them, and a randomized
// round trip, TIMEPIPE_SEED=N replays), one family's samples together, no duplicate series.
#include "libtime/observe/prometheus.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>

#include "tests/unit/test_support.hpp"

using namespace timepipe::observe;

TEST(PrometheusNames, MetricNames) {
    EXPECT_TRUE(valid_metric_name("timepipe_up"));
    EXPECT_TRUE(valid_metric_name("_x"));
    EXPECT_TRUE(valid_metric_name("job:rate5m"));
    EXPECT_TRUE(valid_metric_name(":a"));
    EXPECT_TRUE(valid_metric_name("A9_:"));
    EXPECT_FALSE(valid_metric_name(""));
    EXPECT_FALSE(valid_metric_name("9a"));
    EXPECT_FALSE(valid_metric_name("a-b"));
    EXPECT_FALSE(valid_metric_name("a b"));
    EXPECT_FALSE(valid_metric_name("zürich"));
    EXPECT_FALSE(valid_metric_name("a{"));
}

TEST(PrometheusNames, LabelNames) {
    EXPECT_TRUE(valid_label_name("tool"));
    EXPECT_TRUE(valid_label_name("_x"));
    EXPECT_TRUE(valid_label_name("a_1"));
    EXPECT_FALSE(valid_label_name("__name__"));
    EXPECT_FALSE(valid_label_name("__x"));
    EXPECT_FALSE(valid_label_name("a:b"));   // colons are for metric names only
    EXPECT_FALSE(valid_label_name("1a"));
    EXPECT_FALSE(valid_label_name(""));
    EXPECT_FALSE(valid_label_name("a-b"));
}

TEST(PrometheusEscape, LabelValues) {
    EXPECT_EQ(escape_label_value("plain"), "plain");
    EXPECT_EQ(escape_label_value("a\\b"), "a\\\\b");
    EXPECT_EQ(escape_label_value("say \"hi\""), "say \\\"hi\\\"");
    EXPECT_EQ(escape_label_value("two\nlines"), "two\\nlines");
    EXPECT_EQ(escape_label_value("\\n"), "\\\\n");   // a backslash then n, not a newline
    EXPECT_EQ(escape_label_value("tab\there"), "tab\there");
    EXPECT_EQ(escape_label_value("Zürich ℹ 😀"), "Zürich ℹ 😀");
    EXPECT_EQ(escape_label_value(""), "");
}

TEST(PrometheusEscape, InvalidUtf8BecomesReplacementCharacter) {
    const std::string fffd = "\xEF\xBF\xBD";
    EXPECT_EQ(escape_label_value("a\xFF" "b"), "a" + fffd + "b");
    EXPECT_EQ(escape_label_value("\xC3"), fffd);                         // cut short
    EXPECT_EQ(escape_label_value("\xC0\xAF"), fffd + fffd);              // overlong '/'
    EXPECT_EQ(escape_label_value("\xED\xA0\x80"), fffd + fffd + fffd);   // a surrogate
    EXPECT_EQ(escape_label_value("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // > U+10FFFF
    EXPECT_EQ(escape_label_value("\xC3\"") , fffd + "\\\"");
    EXPECT_EQ(escape_help("\xE2\x82"), fffd + fffd);
}

TEST(PrometheusEscape, Help) {
    EXPECT_EQ(escape_help("a \"quoted\" word"), "a \"quoted\" word");
    EXPECT_EQ(escape_help("back\\slash"), "back\\\\slash");
    EXPECT_EQ(escape_help("line\nbreak"), "line\\nbreak");
}

TEST(PrometheusFloat, AsGoWritesThem) {
    // Expected texts: Go 1.19 fmt.Println(strconv.FormatFloat(v, 'g', -1, 64)).
    const std::pair<double, const char*> cases[] = {
        {0.0, "0"},
        {-0.0, "0"},   // client_golang writes any zero as "0"
        {1.0, "1"},
        {-1.5, "-1.5"},
        {100.0, "100"},
        {123456.0, "123456"},
        {999999.0, "999999"},
        {1e6, "1e+06"},
        {1234567.0, "1.234567e+06"},
        {0.1, "0.1"},
        {0.0001, "0.0001"},
        {0.00012345, "0.00012345"},
        {0.00001, "1e-05"},
        {1.5e-5, "1.5e-05"},
        {-0.000123, "-0.000123"},
        {1.0 / 3.0, "0.3333333333333333"},
        {2.0 / 3.0, "0.6666666666666666"},
        {1e21, "1e+21"},
        {1e100, "1e+100"},
        {1.5e-100, "1.5e-100"},
        {9007199254740992.0, "9.007199254740992e+15"},
        {4.9406564584124654e-324, "5e-324"},
        {std::numeric_limits<double>::max(), "1.7976931348623157e+308"},
        {1765000000.123456789, "1.7650000001234567e+09"},
        {1.5e-6, "1.5e-06"},
        {-15e-6, "-1.5e-05"},
        {3.25, "3.25"},
        {65536.0, "65536"},
    };
    for (const auto& [v, text] : cases) EXPECT_EQ(format_value(v), text) << v;
    EXPECT_EQ(format_value(std::nan("")), "NaN");
    EXPECT_EQ(format_value(-std::nan("")), "NaN");
    EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
    EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(PrometheusFloat, RandomDoublesReadBackExactly) {
    std::mt19937_64 rng(timepipe::test::test_seed("prometheus_test"));
    for (int i = 0; i < 200000; ++i) {
        double v = std::bit_cast<double>(rng());
        if (!std::isfinite(v) || v == 0) continue;   // -0 is written "0"
        std::string text = format_value(v);
        char* end = nullptr;
        double back = std::strtod(text.c_str(), &end);
        ASSERT_EQ(*end, '\0') << text;
        ASSERT_EQ(std::bit_cast<std::uint64_t>(back), std::bit_cast<std::uint64_t>(v)) << text;
        // Go's %g layout: exponent form exactly when the decimal exponent is < -4 or >= 6.
        int exp = v == 0 ? 0 : static_cast<int>(std::floor(std::log10(std::fabs(v))));
        bool has_e = text.find('e') != std::string::npos;
        if (exp < -5 || exp > 6) {
            ASSERT_TRUE(has_e) << text;
        }
        if (exp > -4 && exp < 5) {
            ASSERT_FALSE(has_e) << text;
        }
    }
}

TEST(PrometheusExposition, FamiliesInOrderSamplesTogether) {
    Exposition e;
    ASSERT_TRUE(e.family("b_seconds", MetricType::gauge, "B, with a \\ and\na newline"));
    ASSERT_TRUE(e.family("a_total", MetricType::counter, "A \"quoted\"."));
    ASSERT_TRUE(e.family("unused", MetricType::gauge, "never given a sample"));
    ASSERT_TRUE(e.add("a_total", {{"x", "1"}}, std::uint64_t{18446744073709551615u}));
    ASSERT_TRUE(e.add("b_seconds", {}, 0.25));
    ASSERT_TRUE(e.add("a_total", {{"x", "2\"\n\\"}, {"y", ""}}, 2.0));
    EXPECT_EQ(e.samples(), 3u);
    EXPECT_EQ(e.text(),
              "# HELP b_seconds B, with a \\\\ and\\na newline\n"
              "# TYPE b_seconds gauge\n"
              "b_seconds 0.25\n"
              "# HELP a_total A \"quoted\".\n"
              "# TYPE a_total counter\n"
              "a_total{x=\"1\"} 18446744073709551615\n"
              "a_total{x=\"2\\\"\\n\\\\\",y=\"\"} 2\n");
}

TEST(PrometheusExposition, RefusesWhatWouldBeInvalid) {
    Exposition e;
    EXPECT_FALSE(e.family("bad-name", MetricType::gauge, ""));
    EXPECT_FALSE(e.family("requests", MetricType::counter, ""));   // a counter without _total
    ASSERT_TRUE(e.family("g", MetricType::gauge, ""));
    EXPECT_FALSE(e.family("g", MetricType::gauge, ""));             // declared twice
    ASSERT_TRUE(e.family("c_total", MetricType::counter, ""));
    EXPECT_FALSE(e.add("undeclared", {}, 1.0));
    EXPECT_FALSE(e.add("g", {{"__name__", "x"}}, 1.0));
    EXPECT_FALSE(e.add("g", {{"a-b", "x"}}, 1.0));
    EXPECT_FALSE(e.add("g", {{"a", "x"}, {"a", "y"}}, 1.0));
    EXPECT_FALSE(e.add("c_total", {}, -1.0));
    EXPECT_FALSE(e.add("c_total", {}, std::nan("")));
    EXPECT_EQ(e.samples(), 0u);
    EXPECT_EQ(e.text(), "");
}

TEST(PrometheusExposition, NoDuplicateSeries) {
    Exposition e;
    ASSERT_TRUE(e.family("g", MetricType::gauge, "g"));
    ASSERT_TRUE(e.add("g", {{"a", "1"}, {"b", "2"}}, 1.0));
    EXPECT_FALSE(e.add("g", {{"a", "1"}, {"b", "2"}}, 2.0));
    EXPECT_FALSE(e.add("g", {{"b", "2"}, {"a", "1"}}, 2.0));              // label order does not matter
    EXPECT_FALSE(e.add("g", {{"a", "1"}, {"b", "2"}, {"c", ""}}, 2.0));   // empty value = absent
    ASSERT_TRUE(e.add("g", {{"a", "1"}}, 3.0));
    ASSERT_TRUE(e.add("g", {}, 4.0));
    EXPECT_FALSE(e.add("g", {{"x", ""}}, 5.0));
    // Escaping cannot make two values collide: a\"b (escaped) is not a"b.
    ASSERT_TRUE(e.add("g", {{"a", "x\\\"y"}}, 6.0));
    ASSERT_TRUE(e.add("g", {{"a", "x\"y"}}, 7.0));
    EXPECT_EQ(e.samples(), 5u);
    EXPECT_EQ(e.text(),
              "# HELP g g\n# TYPE g gauge\n"
              "g{a=\"1\",b=\"2\"} 1\n"
              "g{a=\"1\"} 3\n"
              "g 4\n"
              "g{a=\"x\\\\\\\"y\"} 6\n"
              "g{a=\"x\\\"y\"} 7\n");
}
