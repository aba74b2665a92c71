// libtime/observe/plot: records to series (per source, filters, limits), series to a gnuplot
// script, and the script's safety against hostile source names and titles.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "libtime/observe/plot.hpp"
#include "libtime/stream/records.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::observe;

namespace {

using timepipe::test::kT0;

Record sample_record(const std::string& source, UnixNanos t, double offset, double delay = 0.002, int poll = 6) {
    Sample s;
    s.source = source;
    s.time = t;
    s.offset = offset;
    s.delay = delay;
    s.stratum = 1;
    s.refid = "GPS";
    s.poll = poll;
    return to_record(s);
}

Record tracking_record(UnixNanos t, double frequency, double offset = 0, int poll = 7) {
    Tracking k;
    k.source = "ntp://192.0.2.1:123";
    k.time = t;
    k.stratum = 2;
    k.refid = "192.0.2.1";
    k.offset = offset;
    k.frequency = frequency;
    k.leap = 0;
    k.synchronised = true;
    k.poll = poll;
    return to_record(k);
}

Record adjust_record(UnixNanos t, std::optional<double> frequency) {
    Adjust a;
    a.source = "ntp://192.0.2.1:123";
    a.time = t;
    a.frequency = frequency;
    a.poll = 6;
    return to_record(a);
}

// The text between `from` and the next `to`.
std::string between(const std::string& s, const std::string& from, const std::string& to) {
    auto a = s.find(from);
    if (a == std::string::npos) return "";
    a += from.size();
    return s.substr(a, s.find(to, a) - a);
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
    return n;
}

const std::vector<std::string> kHostile = {
    "ntp://a'b:123",
    "x' ; system('touch /tmp/timeplot-pwned') ; '",
    "`touch /tmp/timeplot-pwned`",
    "ntp://x\" . system(\"touch /tmp/timeplot-pwned\") . \"",
    "line\nbreak\nplot '<touch /tmp/timeplot-pwned'",
    "@macro $data !shell |pipe \\back ;semi",
    "set output '|touch /tmp/timeplot-pwned'",
    "EOD",
    std::string("nul\0byte", 8),
    "\xff\xfe utf8 \xc3\xa9",
    "{/Symbol a}^2_3 &{x}",
};

}  // namespace

TEST(PlotSafeText, KeepsHarmlessCharactersAndEscapesTheRest) {
    EXPECT_EQ(safe_text("ntp://192.0.2.1:123"), "ntp://192.0.2.1:123");
    EXPECT_EQ(safe_text("ntp://[2001:db8::1]:123"), "ntp://[2001:db8::1]:123");
    EXPECT_EQ(safe_text("a'b"), "a%27b");
    EXPECT_EQ(safe_text("`x`"), "%60x%60");
    EXPECT_EQ(safe_text("\"\n\\$@!|;<>%"), "%22%0a%5c%24%40%21%7c%3b%3c%3e%25");
    EXPECT_EQ(safe_text(std::string("\0\xff", 2)), "%00%ff");
    EXPECT_EQ(safe_text(std::string(100, 'a'), 10), "aaaaaaaaaa...");
    EXPECT_EQ(safe_text("ab'''", 6), "ab%27...");  // never half an escape
}

TEST(PlotCollector, OneTracePerSourceInOrderOfFirstAppearance) {
    PlotCollector c;
    c.add(sample_record("ntp://b:123", kT0, 0.001, 0.004));
    c.add(sample_record("ntp://a:123", kT0 + 1, -0.002, 0.006, 7));
    c.add(sample_record("ntp://b:123", kT0 + 2, 0.003, 0.002, 8));
    const auto& d = c.data();
    ASSERT_EQ(d.sources.size(), 2u);
    EXPECT_EQ(d.sources[0].source, "ntp://b:123");
    EXPECT_EQ(d.sources[1].source, "ntp://a:123");
    ASSERT_EQ(d.sources[0].offset.size(), 2u);
    EXPECT_EQ(d.sources[0].offset[1].time, kT0 + 2);
    EXPECT_DOUBLE_EQ(d.sources[0].offset[1].value, 0.003);
    EXPECT_DOUBLE_EQ(d.sources[0].offset[0].bar, 0.002);  // delay/2
    EXPECT_DOUBLE_EQ(d.sources[1].poll[0].value, 7);
    EXPECT_EQ(d.samples, 3u);
    EXPECT_TRUE(has_points(d));
}

TEST(PlotCollector, RoughtimeRadiusWidensTheBarAndKissOfDeathIsNoMeasurement) {
    PlotCollector c;
    auto r = sample_record("roughtime://192.0.2.9:2002", kT0, 0.01, 0.004, 0);
    r["root_dispersion"] = 0.5;
    c.add(r);
    auto ntp = sample_record("ntp://192.0.2.1:123", kT0, 0.01, 0.004);
    ntp["root_dispersion"] = 0.5;  // an NTP server's dispersion is not part of the bar
    c.add(ntp);
    auto kod = sample_record("ntp://192.0.2.2:123", kT0, 0, 0);
    kod["kod"] = "RATE";
    c.add(kod);
    const auto& d = c.data();
    ASSERT_EQ(d.sources.size(), 2u);
    EXPECT_DOUBLE_EQ(d.sources[0].offset[0].bar, 0.502);
    EXPECT_DOUBLE_EQ(d.sources[1].offset[0].bar, 0.002);
}

TEST(PlotCollector, TrackingAndAdjustRecords) {
    PlotCollector c;
    c.add(tracking_record(kT0, 12.5, 0.0001, 8));
    c.add(adjust_record(kT0 + 1, 13.0));
    c.add(adjust_record(kT0 + 2, std::nullopt));  // a slew only: no frequency point
    Record other = {{"v", 1}, {"type", "stats"}, {"source", "x"}, {"time", kT0}};
    c.add(other);
    const auto& d = c.data();
    ASSERT_EQ(d.tracking_frequency.size(), 1u);
    EXPECT_DOUBLE_EQ(d.tracking_frequency[0].value, 12.5);
    ASSERT_EQ(d.adjust_frequency.size(), 1u);
    ASSERT_EQ(d.system_poll.size(), 1u);
    EXPECT_DOUBLE_EQ(d.system_poll[0].value, 8);
    EXPECT_DOUBLE_EQ(d.system_offset[0].value, 0.0001);
    EXPECT_TRUE(d.sources.empty());
    EXPECT_EQ(d.skipped, 0u);
}

TEST(PlotCollector, InvalidRecordsOfKnownTypesAreSkippedAndCounted) {
    PlotCollector c;
    auto bad = sample_record("ntp://a:123", kT0, 0.1);
    bad["offset"] = "soon";
    c.add(bad);
    Record no_fields = {{"v", 1}, {"type", "tracking"}};
    c.add(no_fields);
    EXPECT_EQ(c.data().skipped, 2u);
    EXPECT_FALSE(has_points(c.data()));
}

TEST(PlotCollector, TimeSpanAndSourcePatterns) {
    PlotFilter f;
    f.from = kT0 + 10;
    f.to = kT0 + 20;
    f.sources = {"ntp://192.0.2.*", "roughtime://*"};
    PlotCollector c(f);
    c.add(sample_record("ntp://192.0.2.1:123", kT0 + 5, 0));      // too early
    c.add(sample_record("ntp://192.0.2.1:123", kT0 + 15, 0));     // kept
    c.add(sample_record("ntp://198.51.100.1:123", kT0 + 15, 0));  // other source
    c.add(sample_record("roughtime://x:2002", kT0 + 20, 0));      // kept: --to is inclusive
    c.add(sample_record("ntp://192.0.2.1:123", kT0 + 21, 0));     // too late
    c.add(tracking_record(kT0 + 25, 1));                          // too late
    const auto& d = c.data();
    ASSERT_EQ(d.sources.size(), 2u);
    EXPECT_EQ(d.sources[0].offset.size(), 1u);
    EXPECT_EQ(d.sources[1].source, "roughtime://x:2002");
    EXPECT_TRUE(d.tracking_frequency.empty());
}

TEST(PlotCollector, LimitsBoundSourcesAndPoints) {
    PlotFilter f;
    f.max_sources = 3;
    f.max_points = 10;
    PlotCollector c(f);
    for (int i = 0; i < 5; ++i) c.add(sample_record("ntp://s" + std::to_string(i) + ":123", kT0 + i, 0));
    EXPECT_EQ(c.data().sources.size(), 3u);
    EXPECT_EQ(c.data().dropped, 2u);
    for (int i = 0; i < 10; ++i) c.add(sample_record("ntp://s0:123", kT0 + 100 + i, 0));
    EXPECT_EQ(c.data().points, 10u);
    EXPECT_GT(c.data().dropped, 2u);
}

TEST(PlotScript, ThreePanelsDataBlocksAndOneLegendEntryPerSource) {
    PlotCollector c;
    for (int i = 0; i < 5; ++i) {
        c.add(sample_record("ntp://192.0.2.1:123", kT0 + i * 64'000'000'000, 0.001 * i, 0.0004, 6));
        c.add(sample_record("ntp://192.0.2.2:123", kT0 + i * 64'000'000'000 + 1, -0.002, 0.0006, 7));
        c.add(tracking_record(kT0 + i * 64'000'000'000 + 2, 10 + i, 0.0001, 6));
    }
    PlotStyle style;
    style.format = PlotFormat::svg;
    style.width = 800;
    style.height = 600;
    style.title = "lab";
    auto s = gnuplot_script(c.data(), style);
    EXPECT_EQ(script_problem(s), std::nullopt) << s;
    EXPECT_NE(s.find("set terminal svg size 800,600 noenhanced"), std::string::npos);
    EXPECT_NE(s.find("set multiplot title 'lab'"), std::string::npos);
    EXPECT_EQ(count(s, "title 'ntp://192.0.2.1:123'"), 1u);
    EXPECT_EQ(count(s, "title 'ntp://192.0.2.2:123'"), 1u);
    EXPECT_EQ(count(s, "\nplot "), 3u);  // three panels
    EXPECT_NE(s.find("set ylabel 'offset (ms), bars: delay/2'"), std::string::npos);
    // Offsets in ms, bars delay/2 in ms, times with all nine decimals.
    EXPECT_EQ(between(s, "$s0 << EOD\n", "\n"), "1700000000.000000000 0 0.2");
    EXPECT_EQ(between(s, "$s1 << EOD\n", "\n"), "1700000000.000000001 -2 0.3");
    EXPECT_EQ(between(s, "$q1 << EOD\n", "\n"), "1700000000.000000001 7");
    EXPECT_EQ(between(s, "$fr << EOD\n", "\n"), "1700000000.000000002 10");
    EXPECT_NE(s.find("yerrorlines"), std::string::npos);
    EXPECT_EQ(s.find("set output"), std::string::npos);  // the image goes to stdout
}

TEST(PlotScript, PngTerminalUnitsAndTrackingPreferredToAdjust) {
    PlotCollector c;
    c.add(sample_record("ntp://a:123", kT0, 2.5, 0.1));
    c.add(adjust_record(kT0, 99));
    auto s = gnuplot_script(c.data(), {});
    EXPECT_NE(s.find("set terminal pngcairo size 1200,900"), std::string::npos);
    EXPECT_NE(s.find("offset (s)"), std::string::npos);
    EXPECT_NE(s.find("frequency (ppm), adjust"), std::string::npos);
    EXPECT_EQ(between(s, "$fr << EOD\n", "\n"), "1700000000.000000000 99");
    c.add(tracking_record(kT0 + 1, 5));
    s = gnuplot_script(c.data(), {});
    EXPECT_EQ(between(s, "$fr << EOD\n", "\n"), "1700000000.000000001 5");

    PlotCollector small;
    small.add(sample_record("ntp://a:123", kT0, 20e-6, 10e-6));
    EXPECT_NE(gnuplot_script(small.data(), {}).find("offset (us)"), std::string::npos);
}

TEST(PlotScript, EmptyPanelsSayWhatIsMissing) {
    PlotCollector c;
    c.add(sample_record("ntp://a:123", kT0, 0.001));
    auto s = gnuplot_script(c.data(), {});
    EXPECT_NE(s.find("'no tracking or adjust records'"), std::string::npos);
    EXPECT_EQ(script_problem(s), std::nullopt) << s;
    PlotCollector t;
    t.add(adjust_record(kT0, 3));
    s = gnuplot_script(t.data(), {});
    EXPECT_NE(s.find("'no samples'"), std::string::npos);
    EXPECT_NE(s.find("'no poll intervals'"), std::string::npos);
    EXPECT_EQ(script_problem(s), std::nullopt) << s;
}

TEST(PlotScript, HostileSourceNamesAndTitleNeverReachTheScriptRaw) {
    PlotCollector c;
    for (std::size_t i = 0; i < kHostile.size(); ++i)
        c.add(sample_record(kHostile[i], kT0 + static_cast<UnixNanos>(i), 0.001));
    ASSERT_EQ(c.data().sources.size(), kHostile.size());
    PlotStyle style;
    style.title = "title' . system('id') . '";
    auto s = gnuplot_script(c.data(), style);
    EXPECT_EQ(script_problem(s), std::nullopt) << s;
    for (auto& h : kHostile) EXPECT_NE(s.find("title '" + safe_text(h, 48) + "'"), std::string::npos) << h;
    for (auto& h : kHostile)
        if (h.find_first_of("'\"`\n") != std::string::npos) {
            EXPECT_EQ(s.find(h), std::string::npos) << h;
        }
    EXPECT_EQ(s.find('`'), std::string::npos);
    EXPECT_EQ(s.find('"'), std::string::npos);
    EXPECT_EQ(s.find("touch /tmp/timeplot-pwned'"), std::string::npos);
}

TEST(PlotScript, NumbersTooLargeToScaleStayOut) {
    PlotCollector c;
    c.add(sample_record("ntp://a:123", kT0, 1e-7, 1e-7));
    c.add(sample_record("ntp://a:123", kT0 + 1, 1e308, 1e308));  // finite, but its bar is 1e308 too
    auto s = gnuplot_script(c.data(), {});
    EXPECT_EQ(script_problem(s), std::nullopt) << s;
    EXPECT_EQ(s.find("inf"), std::string::npos);
    EXPECT_EQ(s.find("nan"), std::string::npos);
}

TEST(PlotScript, TheTimeAxisIsExactAndExtremeTimesDoNotOverflow) {
    PlotCollector c;
    c.add(sample_record("ntp://a:123", kT0 + 1'234'567'891, 0.001));
    c.add(sample_record("ntp://a:123", kT0 + 3600 * kNanosPerSecond, 0.001));
    auto s = gnuplot_script(c.data(), {});
    EXPECT_NE(s.find("set xrange [1700000001.234567891:1700003600.000000000]"), std::string::npos) << s;
    EXPECT_NE(s.find("set format x '%H:%M' timedate"), std::string::npos);
    PlotCollector one;
    one.add(sample_record("ntp://a:123", kT0, 0.001));
    s = gnuplot_script(one.data(), {});
    EXPECT_NE(s.find("set xrange [1699999970.000000000:1700000030.000000000]"), std::string::npos) << s;
    EXPECT_NE(s.find("set format x '%H:%M:%S' timedate"), std::string::npos);
    PlotCollector wild;
    wild.add(sample_record("ntp://a:123", INT64_MIN, 0.001));
    wild.add(sample_record("ntp://a:123", INT64_MAX, 0.001));
    wild.add(sample_record("ntp://b:123", INT64_MIN + 1, 0.001));
    s = gnuplot_script(wild.data(), {});
    EXPECT_EQ(script_problem(s), std::nullopt) << s;
    EXPECT_NE(s.find("set xrange [-9223372037.145224192:9223372036.854775807]"), std::string::npos) << s;
    EXPECT_NE(s.find("UTC, from 1677-09-21 00:12:43"), std::string::npos) << s;
}

TEST(PlotScript, SeriesAreSortedAndThinnedToTheirEnvelope) {
    PlotCollector c;
    c.add(sample_record("ntp://a:123", kT0 + 2, 0.002));  // out of order: drawn in time order
    c.add(sample_record("ntp://a:123", kT0 + 1, 0.001));
    auto s = gnuplot_script(c.data(), {});
    EXPECT_NE(s.find("$s0 << EOD\n1700000000.000000001 1 1\n1700000000.000000002 2 1\nEOD\n"), std::string::npos) << s;

    PlotCollector many;
    for (int i = 0; i < 100'000; ++i)
        many.add(sample_record("ntp://a:123", kT0 + i * kNanosPerSecond, i == 54'321 ? 0.5 : 0.001 * (i % 7)));
    PlotStyle style;
    style.width = 400;
    s = gnuplot_script(many.data(), style);
    auto block = between(s, "$s0 << EOD\n", "EOD\n");
    EXPECT_LE(count(block, "\n"), 802u);  // two a column, and the first and last
    EXPECT_GE(count(block, "\n"), 400u);
    EXPECT_NE(block.find("1700054321.000000000 500 1\n"), std::string::npos);  // the spike stays
    EXPECT_NE(block.find("1700000000.000000000 0 1\n"), std::string::npos);     // the first point
    EXPECT_NE(block.find("1700099999.000000000 "), std::string::npos);           // and the last
}

TEST(PlotScript, RandomSourceNamesKeepTheScriptSafe) {
    std::mt19937_64 rng(test::test_seed("plot_test"));
    for (int round = 0; round < 200; ++round) {
        PlotCollector c;
        int n = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < n; ++i) {
            std::string name(rng() % 40, '\0');
            for (auto& ch : name) ch = static_cast<char>(rng() % 256);
            c.add(sample_record(name.empty() ? "x" : name, kT0 + i, 0.001));
        }
        PlotStyle style;
        style.title = std::string(rng() % 20, static_cast<char>(rng() % 256));
        auto s = gnuplot_script(c.data(), style);
        ASSERT_EQ(script_problem(s), std::nullopt) << s;
    }
}

TEST(PlotScriptProblem, CatchesWhatAScriptMustNotHold) {
    auto ok = gnuplot_script(PlotCollector().data(), {});
    EXPECT_EQ(script_problem(ok), std::nullopt);
    EXPECT_NE(script_problem("plot 'a'\nsystem('id')\n"), std::nullopt);
    EXPECT_NE(script_problem("set output '|id'\n"), std::nullopt);
    EXPECT_NE(script_problem("set title \"x\"\n"), std::nullopt);
    EXPECT_NE(script_problem("set title 'a`id`'\n"), std::nullopt);
    EXPECT_NE(script_problem("set title 'a\n"), std::nullopt);
    EXPECT_NE(script_problem("!id\n"), std::nullopt);
    EXPECT_NE(script_problem("plot '<id'\n"), std::nullopt);
    EXPECT_NE(script_problem("$d << EOD\n1 nan\nEOD\n"), std::nullopt);
    EXPECT_NE(script_problem("$d << EOD\n1 2\n"), std::nullopt);
    EXPECT_NE(script_problem("set title 'x'"), std::nullopt);  // no final newline
    EXPECT_NE(script_problem("set title '\xc3\xa9'\n"), std::nullopt);
    EXPECT_EQ(script_problem("$d << EOD\n1.5 -2e-3 4\nEOD\nplot $d using 1:2\n"), std::nullopt);
}

TEST(PlotTime, ParsesRfc3339AndSeconds) {
    EXPECT_EQ(parse_plot_time("1700000000"), kT0);
    EXPECT_EQ(parse_plot_time("2023-11-14T22:13:20Z"), kT0);
    EXPECT_EQ(parse_plot_time("2023-11-14 22:13:20"), kT0);
    EXPECT_EQ(parse_plot_time("2023-11-14T22:13:20.25Z"), kT0 + 250'000'000);
    EXPECT_EQ(parse_plot_time("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(parse_plot_time("2024-02-29T00:00:00Z"), 1'709'164'800 * kNanosPerSecond);
    EXPECT_EQ(parse_plot_time("1969-12-31T23:59:59Z"), -kNanosPerSecond);
    for (const char* bad : {"", "soon", "-5", "2023-02-29T00:00:00Z", "2023-13-01T00:00:00Z", "2023-11-14T24:00:00Z",
                            "2023-11-14T22:13:20+01:00", "2023-11-14T22:13:20.Z", "9999-01-01T00:00:00Z",
                            "2023-11-14T22:13:20.1234567890Z", "99999999999999999999"})
        EXPECT_EQ(parse_plot_time(bad), std::nullopt) << bad;
}
