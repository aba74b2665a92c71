// libtime/stream/sample_table: chronyc's units for durations (fixed values, and properties over
// random ones: width, sign, rounding, never "-0"), escaping of what a stream says (fixed
// vectors, and a round trip over random bytes), the NTP and Roughtime tables (79 columns, the
// +/- column, ntpq's when/poll/reach forms) and generic lines. TIMEPIPE_SEED=N replays.
#include "libtime/stream/sample_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <random>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/stream/sample_fixtures.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;

namespace {

using timepipe::test::test_seed;

using timepipe::test::full_sample;
using timepipe::test::minimal_sample;

Sample roughtime_sample() {
    Sample s;
    s.source = "roughtime://192.0.2.1:2002";
    s.time = 1700000000000000000;
    s.offset = -0.0023;
    s.delay = 0.00042;
    s.dispersion = 5;
    s.stratum = 1;
    s.refid = "ROUG";
    s.root_delay = s.delay;
    s.root_dispersion = s.dispersion;
    return s;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    for (std::size_t p = 0; p < text.size();) {
        auto nl = text.find('\n', p);
        lines.push_back(text.substr(p, nl - p));
        p = nl + 1;
    }
    return lines;
}

// What a terminal would act on: C0 but '\n', DEL, C1 (as UTF-8), ill-formed UTF-8.
bool has_raw_controls(const std::string& s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if ((c < 0x20 && c != '\n') || c == 0x7f) return true;
        if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9f) return true;
    }
    return false;
}

// The inverse of escape_text, for the round-trip property.
std::string unescape(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        const char kind = s.at(++i);
        if (kind == '\\') {
            out += '\\';
        } else if (kind == 'x') {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else if (kind == 'u') {
            const auto cp = static_cast<unsigned>(std::stoi(s.substr(i + 1, 4), nullptr, 16));
            if (cp < 0x800) {
                out += static_cast<char>(0xc0 | (cp >> 6));
            } else {
                out += static_cast<char>(0xe0 | (cp >> 12));
                out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            }
            out += static_cast<char>(0x80 | (cp & 0x3f));
            i += 4;
        } else {
            ADD_FAILURE() << "bad escape in " << s;
        }
    }
    return out;
}

// A duration as shown, taken apart: "-12.5ms" is {"-", "12.5", true, "ms"}; nullopt if it is
// not [+-]DIGITS[.DIGIT]UNIT.
struct Shown {
    std::string sign, digits;
    bool decimal = false;
    std::string unit;
};
std::optional<Shown> parse_shown(const std::string& f) {
    Shown p;
    std::size_t i = 0;
    if (i < f.size() && (f[i] == '+' || f[i] == '-')) p.sign = f[i++];
    while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) p.digits += f[i++];
    if (p.digits.empty()) return std::nullopt;
    if (i + 1 < f.size() && f[i] == '.' && std::isdigit(static_cast<unsigned char>(f[i + 1]))) {
        p.decimal = true;
        p.digits += f.substr(i, 2);
        i += 2;
    }
    p.unit = f.substr(i);
    for (const char* u : {"ns", "us", "ms", "s", "h", "d", "y"})
        if (p.unit == u) return p;
    return std::nullopt;
}

}  // namespace

// ---- durations -------------------------------------------------------------------------------

TEST(FormatDuration, ChronycUnits) {
    EXPECT_EQ(format_signed_duration(0), "0ns");
    EXPECT_EQ(format_signed_duration(-0.0), "0ns");
    EXPECT_EQ(format_signed_duration(-4e-10), "0ns");  // never "-0"
    EXPECT_EQ(format_duration(4e-10), "0ns");
    EXPECT_EQ(format_signed_duration(1e-9), "+1ns");
    EXPECT_EQ(format_signed_duration(-123e-9), "-123ns");
    EXPECT_EQ(format_signed_duration(9999.4e-9), "+9999ns");
    EXPECT_EQ(format_signed_duration(9999.6e-9), "+10us");  // rounding never adds a digit
    EXPECT_EQ(format_signed_duration(-0.000123), "-123us");  // LAN
    EXPECT_EQ(format_duration(0.00042), "420us");
    EXPECT_EQ(format_duration(0.0121), "12ms");  // WAN
    EXPECT_EQ(format_signed_duration(-0.0456), "-46ms");
    EXPECT_EQ(format_duration(9.9994), "9999ms");
    EXPECT_EQ(format_signed_duration(10), "+10.0s");
    EXPECT_EQ(format_duration(999.94), "999.9s");
    EXPECT_EQ(format_duration(999.96), "1000s");
    EXPECT_EQ(format_duration(99999.4), "99999s");
    EXPECT_EQ(format_duration(99999.6), "28h");
    EXPECT_EQ(format_signed_duration(-3600 * 999.4), "-999h");
    EXPECT_EQ(format_signed_duration(31536000), "+365d");  // a year off
    EXPECT_EQ(format_duration(86400 * 999.4), "999d");
    EXPECT_EQ(format_duration(86400 * 1000), "2.7y");
    EXPECT_EQ(format_signed_duration(-100 * 365.25 * 86400), "-100y");
    EXPECT_EQ(format_duration(99999 * 365.25 * 86400), "99999y");
    EXPECT_EQ(format_duration(1e300), "INF");
    EXPECT_EQ(format_signed_duration(-1e300), "-INF");
    EXPECT_EQ(format_signed_duration(std::numeric_limits<double>::infinity()), "+INF");
    EXPECT_EQ(format_duration(std::numeric_limits<double>::quiet_NaN()), "?");
    EXPECT_EQ(format_duration(-0.002), "-2000us");  // a negative delay keeps its sign
}

// Over random magnitudes from 1e-13 s to 1e13 s (and beyond): the form, the width, the sign,
// and the value read back within half a unit of the last digit shown.
TEST(FormatDuration, PropertiesOverRandomValues) {
    std::mt19937_64 rng(test_seed("sample_table_test"));
    std::uniform_real_distribution<double> exponent(-13, 13);
    const std::vector<std::pair<std::string, double>> units = {
        {"ns", 1e-9}, {"us", 1e-6}, {"ms", 1e-3}, {"s", 1}, {"h", 3600}, {"d", 86400}, {"y", 365.25 * 86400}};
    for (int i = 0; i < 20000; ++i) {
        double x = std::pow(10.0, exponent(rng));
        if (rng() % 2) x = -x;
        if (rng() % 50 == 0) x = std::round(x);  // whole seconds, zero included
        for (bool plus : {false, true}) {
            const std::string f = plus ? format_signed_duration(x) : format_duration(x);
            SCOPED_TRACE(testing::Message() << "x=" << x << " shown " << f);
            const bool zero = f == "0ns";
            EXPECT_LE(f.size(), (x < 0 || plus) && !zero ? 7u : 6u);
            if (f == "INF" || f == "+INF" || f == "-INF") {
                EXPECT_GT(std::fabs(x), 99999 * 365.25 * 86400);
                EXPECT_EQ(f[0] == '-', x < 0);
                continue;
            }
            const auto m = parse_shown(f);
            ASSERT_TRUE(m);
            // The sign: '-' exactly for negative values not shown as zero, '+' for the others
            // when asked.
            if (zero) EXPECT_LT(std::fabs(x), 0.5e-9);
            else EXPECT_EQ(m->sign, x < 0 ? "-" : plus ? "+" : "");
            // At most 4 digits (5 for whole seconds and years), and the value within half of
            // the last digit.
            const bool five = !m->decimal && (m->unit == "s" || m->unit == "y");
            EXPECT_LE(m->digits.size() - (m->decimal ? 2 : 0), five ? 5u : 4u);
            double scale = 0;
            for (const auto& [name, seconds] : units)
                if (name == m->unit) scale = seconds;
            const double shown = std::stod(m->digits) * scale;
            const double last_digit = (m->decimal ? 0.1 : 1) * scale;
            EXPECT_LE(std::fabs(shown - std::fabs(x)), last_digit / 2 * (1 + 1e-9));
            // The largest unit that keeps the digits: 3 significant digits or more, but for
            // nanoseconds below 100 and the steps to hours, days and tenths of years.
            if (std::fabs(x) >= 1e-8) {
                EXPECT_LE(std::fabs(shown - std::fabs(x)) / std::fabs(x), 0.05);
            }
        }
    }
}

// ---- escaping --------------------------------------------------------------------------------

TEST(EscapeText, WhatATerminalWouldActOnIsShownEscaped) {
    EXPECT_EQ(escape_text("GPS"), "GPS");
    EXPECT_EQ(escape_text("192.0.2.7 é 日本 🕰"), "192.0.2.7 é 日本 🕰");  // printable UTF-8 stays
    EXPECT_EQ(escape_text("\x1b[2J\x1b]0;pwned\x07"), "\\x1b[2J\\x1b]0;pwned\\x07");
    EXPECT_EQ(escape_text("a\rb\bc\nd\te"), "a\\x0db\\x08c\\x0ad\\x09e");
    EXPECT_EQ(escape_text(std::string("nul\0x", 5)), "nul\\x00x");
    EXPECT_EQ(escape_text("del\x7f"), "del\\x7f");
    EXPECT_EQ(escape_text("\xc2\x9b" "31m"), "\\u009b31m");  // C1 CSI, as UTF-8
    EXPECT_EQ(escape_text("\xc2\x85"), "\\u0085");
    EXPECT_EQ(escape_text("abc\xe2\x80\xae" "gpj.exe"), "abc\\u202egpj.exe");  // right-to-left override
    EXPECT_EQ(escape_text("\xe2\x80\xa8"), "\\u2028");
    EXPECT_EQ(escape_text("\xff\xfe"), "\\xff\\xfe");  // not UTF-8
    EXPECT_EQ(escape_text("\xc0\xaf"), "\\xc0\\xaf");  // overlong '/'
    EXPECT_EQ(escape_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
    EXPECT_EQ(escape_text("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
    EXPECT_EQ(escape_text("cut\xe2\x80"), "cut\\xe2\\x80");
    EXPECT_EQ(escape_text("a\\x1b"), "a\\\\x1b");  // a backslash is doubled: nothing is ambiguous
    EXPECT_EQ(escape_controls("a\\u001B\x1b"), "a\\u001B\\x1b");  // ...except in messages
}

TEST(EscapeText, RandomBytesComeOutPrintableAndRoundTrip) {
    std::mt19937_64 rng(test_seed("sample_table_test"));
    // Bytes biased towards the interesting ones: controls, '\\', UTF-8 lead and continuation.
    static constexpr char kBytes[] = "\x1b\x07\x08\r\n\x7f\\\xc2\x9b\x80\xbf\xe2\x80\xae\xed\xf0\xf4\xff";
    const std::string interesting = std::string(kBytes, sizeof kBytes - 1) + std::string(1, '\0') + "aé";
    for (int i = 0; i < 5000; ++i) {
        std::string s;
        const auto n = rng() % 24;
        for (std::size_t k = 0; k < n; ++k)
            s += rng() % 2 ? interesting[rng() % interesting.size()] : static_cast<char>(rng());
        const std::string e = escape_text(s);
        SCOPED_TRACE(testing::PrintToString(s));
        EXPECT_FALSE(has_raw_controls(e)) << e;
        EXPECT_EQ(e.find('\n'), std::string::npos);
        EXPECT_EQ(escape_text(e), [&] {  // escaped text is valid UTF-8: only its backslashes change
            std::string doubled;
            for (char c : e) doubled += c == '\\' ? std::string("\\\\") : std::string(1, c);
            return doubled;
        }());
        EXPECT_EQ(unescape(e), s);
    }
}

// ---- the NTP table ---------------------------------------------------------------------------

TEST(SampleTable, ChronycWidthAndUnits) {
    const UnixNanos t = 1700000000000000000;
    Sample s = full_sample();
    s.time = t;
    const std::string header = sample_table_header();
    EXPECT_EQ(header,
              "     remote          refid      st when poll reach  delay  offset    +/- jitter\n"
              "===============================================================================\n");
    // delay 420us, offset -123us, +/- (0.42 + 10) / 2 + 1 + 20 ms = 26.21 ms, jitter 100us
    EXPECT_EQ(sample_table_row(s, t + 33 * kNanosPerSecond + 999999999),
              " 127.0.0.1       192.0.2.7       2   33   64   377  420us  -123us   26ms  100us\n");
    EXPECT_EQ(sample_table_row(s, t, '*').substr(0, 11), "*127.0.0.1 ");  // ntpq's tally column
    s.source = "ntp://192.0.2.1:1123";  // a port other than 123 is shown
    EXPECT_EQ(sample_table_row(s, t).substr(0, 17), " 192.0.2.1:1123  ");
    s.source = "ntp://[2001:db8::1]:123";
    EXPECT_EQ(sample_table_row(s, t).substr(0, 17), " 2001:db8::1     ");
}

TEST(SampleTable, ErrorIsTheRootDistance) {
    Sample s = full_sample();
    EXPECT_DOUBLE_EQ(sample_error(s), (0.00042 + 0.01) / 2 + 0.001 + 0.02);
    s.root_delay.reset();
    s.root_dispersion.reset();
    EXPECT_DOUBLE_EQ(sample_error(s), 0.00042 / 2 + 0.001);
    s.delay = -0.0001;  // a slightly negative delay counts 0
    EXPECT_DOUBLE_EQ(sample_error(s), 0.001);
    // Roughtime: the midpoint is within the radius, sent and received half a round trip apart;
    // root_delay and root_dispersion repeat delay and radius there and are not added again.
    EXPECT_DOUBLE_EQ(sample_error(roughtime_sample()), 0.00042 / 2 + 5);
    // roughtime-query's form since the radius is counted once: dispersion 0, no root_delay,
    // root_dispersion the radius.
    Sample rt = roughtime_sample();
    rt.dispersion = 0;
    rt.root_delay.reset();
    EXPECT_DOUBLE_EQ(sample_error(rt), 0.00042 / 2 + 5);
    Record rec = to_record(rt);
    EXPECT_EQ(roughtime_table_row(rt, rec, rt.time + 5 * kNanosPerSecond).substr(65),
              " 5000ms 5000ms\n");  // the radius column
}

TEST(SampleTable, WhenPollReachRefidForms) {
    const UnixNanos t = 1700000000000000000;
    Sample s = minimal_sample();  // stratum 1, refid GPS, no reach or jitter
    s.time = t;
    s.poll = 10;
    auto cols = [&](UnixNanos now) {
        std::string row = sample_table_row(s, now);
        return row.substr(16);  // past the tally and remote columns
    };
    EXPECT_EQ(cols(t), " .GPS.           1    0 1024     -    0ns     0ns    0ns      -\n");
    EXPECT_EQ(cols(t + 3000 * kNanosPerSecond).substr(18, 5), "  50m");
    EXPECT_EQ(cols(t + 7200 * kNanosPerSecond * 3).substr(18, 5), "   6h");
    EXPECT_EQ(cols(t + 86400 * kNanosPerSecond * 10).substr(18, 5), "  10d");
    EXPECT_EQ(cols(t - kNanosPerSecond / 2).substr(18, 5), "    -");  // in the future
    EXPECT_EQ(cols(std::numeric_limits<UnixNanos>::min()).substr(18, 5), "    -");
    s.time = std::numeric_limits<UnixNanos>::min();  // no overflow however far apart
    EXPECT_EQ(cols(std::numeric_limits<UnixNanos>::max()).substr(18, 5), " 585y");
    s.time = t;
    for (auto [poll, shown] : std::vector<std::pair<int, std::string>>{
             {-1, "  1/2"}, {-2, "  1/4"}, {-6, " 1/64"}, {-7, " 2^-7"}, {-9, " 2^-9"}, {-10, "    0"}, {-128, "    0"}}) {
        s.poll = poll;
        EXPECT_EQ(cols(t).substr(23, 5), shown) << poll;
    }
    s.poll = 17;
    EXPECT_EQ(cols(t).substr(23, 5), "  36h");
    s.stratum = 16;
    s.refid = "INIT";
    EXPECT_EQ(cols(t).substr(0, 20), " .INIT.         16  ");
    // An unprintable stratum 1 refid comes as an address (ntp::refid_to_string): shown bare.
    s.stratum = 1;
    s.refid = "127.127.1.1";
    EXPECT_EQ(cols(t).substr(0, 18), " 127.127.1.1     1");
    s.reach = 1;
    EXPECT_EQ(cols(t).substr(28, 6), "     1");
}

// ntpq's forms keep `when` and `poll` within their 4 columns however old the sample.
TEST(SampleTable, WhenAndPollFitFourColumns) {
    const UnixNanos t = 1700000000000000000;
    Sample s = full_sample();
    s.time = t;
    auto when = [&](std::int64_t age_s) {
        std::string row = sample_table_row(s, t + age_s * kNanosPerSecond);
        EXPECT_EQ(row.size(), kTableWidth + 1) << row;
        return row.substr(35, 4);  // the when column
    };
    constexpr std::int64_t kDay = 86400;
    EXPECT_EQ(when(2048), "2048");
    EXPECT_EQ(when(2049), " 34m");
    EXPECT_EQ(when(300 * 60), "300m");
    EXPECT_EQ(when(96 * 3600), " 96h");
    EXPECT_EQ(when(999 * kDay), "999d");
    EXPECT_EQ(when(1103 * kDay), "  3y");
    EXPECT_EQ(when(200 * 365 * kDay), "200y");
    s.poll = 62;  // 2^62 s
    std::string row = sample_table_row(s, t);
    EXPECT_EQ(row.size(), kTableWidth + 1) << row;
    EXPECT_EQ(row.substr(40, 4), " INF");
}

// Typical rows (remote up to 15 characters, refid up to 14, strata 0-16) are exactly 79
// columns whatever the values, and every column ends where its header does.
TEST(SampleTable, TypicalRowsAre79ColumnsWhateverTheValues) {
    std::mt19937_64 rng(test_seed("sample_table_test"));
    std::uniform_real_distribution<double> exponent(-12, 10);
    auto duration = [&] { return (rng() % 2 ? -1 : 1) * std::pow(10.0, exponent(rng)); };
    auto text = [&](std::size_t max) {
        std::string s;
        const auto n = 1 + rng() % max;
        for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('0' + rng() % 10);
        return s;
    };
    const std::string header = sample_table_header().substr(0, kTableWidth);
    for (int i = 0; i < 5000; ++i) {
        Sample s;
        s.source = "ntp://" + text(15) + (rng() % 2 ? ":123" : "");
        s.time = static_cast<UnixNanos>(rng() >> 2);
        s.offset = duration();
        s.delay = std::fabs(duration());
        s.dispersion = std::fabs(duration());
        s.stratum = static_cast<int>(rng() % 17);
        s.refid = text(14);
        s.poll = static_cast<int>(rng() % 25) - 7;
        if (rng() % 2) s.root_delay = std::fabs(duration());
        if (rng() % 2) s.root_dispersion = std::fabs(duration());
        if (rng() % 2) s.jitter = std::fabs(duration());
        if (rng() % 2) s.reach = static_cast<std::uint8_t>(rng());
        const std::string row = sample_table_row(s, static_cast<UnixNanos>(rng() >> 1), "*+-x "[rng() % 5]);
        SCOPED_TRACE(row);
        ASSERT_EQ(row.size(), kTableWidth + 1);
        ASSERT_EQ(std::count(row.begin(), row.end(), '\n'), 1);
        // Right-aligned columns end under the end of their header label.
        for (std::size_t end : {34u, 39u, 44u, 50u, 57u, 65u, 72u, 79u}) {
            EXPECT_NE(header[end - 1], ' ');
            EXPECT_NE(row[end - 1], ' ') << end;
            EXPECT_EQ(row[end], end == kTableWidth ? '\n' : ' ') << end;
        }
    }
}

TEST(SampleTable, LongRemoteGetsItsOwnLineLongRefidPushesOnlyUntilThereIsRoom) {
    Sample s = minimal_sample();
    s.source = "ntp://a-rather-long-host-name.example.org:123";
    std::string row = sample_table_row(s, s.time);
    EXPECT_EQ(row.substr(0, row.find('\n')), " a-rather-long-host-name.example.org");
    EXPECT_EQ(std::count(row.begin(), row.end(), '\n'), 2);
    // The tally goes with the name; the row under it starts blank, like ntpq -pw.
    row = sample_table_row(s, s.time, '+');
    EXPECT_EQ(row.substr(0, row.find('\n')), "+a-rather-long-host-name.example.org");
    EXPECT_EQ(row.substr(row.find('\n') + 1, 17), std::string(17, ' '));
    // A 15-character refid (an IPv4 address) takes the blank of a one-digit stratum.
    s = full_sample();
    s.refid = "162.159.200.123";
    row = sample_table_row(s, s.time);
    EXPECT_EQ(row.size(), kTableWidth + 1);
    EXPECT_EQ(row.substr(16, 18), " 162.159.200.123 2");
    s.stratum = 12;  // then one column further, back in place at `when`
    row = sample_table_row(s, s.time);
    EXPECT_EQ(row.substr(16, 24), " 162.159.200.123 12   0 ");
    EXPECT_EQ(row.size(), kTableWidth + 1);
}

TEST(SampleTable, HostileStringsAreShownEscaped) {
    Sample s = full_sample();
    s.source = "ntp://\x1b[2J\r:123";
    s.refid = "\x1b]0;x\x07";
    s.stratum = 1;
    const std::string row = sample_table_row(s, s.time);
    EXPECT_FALSE(has_raw_controls(row)) << row;
    EXPECT_EQ(row.substr(0, 16), " \\x1b[2J\\x0d    ");
    EXPECT_EQ(row.substr(17, 17), "\\x1b]0;x\\x07    1");  // 6 bytes: not dotted
}

// ---- the Roughtime table ---------------------------------------------------------------------

TEST(RoughtimeTable, RadiusAndVerifiedIn79Columns) {
    const Sample s = roughtime_sample();
    Record r = to_record(s);
    r["roughtime_version"] = "draft-12";
    r["verified"] = true;
    EXPECT_EQ(roughtime_table_header(),
              "          server            version  verified when    rtt  offset    +/- radius\n"
              "===============================================================================\n");
    EXPECT_EQ(roughtime_table_row(s, r, s.time + 5 * kNanosPerSecond),
              " 192.0.2.1:2002             draft-12 yes         5  420us -2300us 5000ms 5000ms\n");
    r["verified"] = false;
    r.erase("roughtime_version");
    EXPECT_EQ(roughtime_table_row(s, r, s.time).substr(27, 20), " -        no        ");
    r.erase("verified");
    EXPECT_EQ(roughtime_table_row(s, r, s.time).substr(27, 20), " -        -         ");
    // 26 characters fit, an IPv6 address with a port; longer goes on a line of its own.
    Sample v6 = s;
    v6.source = "roughtime://[2001:db8:ffff::1234]:2002";
    EXPECT_EQ(roughtime_table_row(v6, r, s.time).size(), kTableWidth + 1);
    v6.source = "roughtime://[2001:db8:ffff:1::1234]:2002";
    std::string row = roughtime_table_row(v6, r, s.time);
    EXPECT_EQ(row.substr(0, row.find('\n')), " [2001:db8:ffff:1::1234]:2002");
    EXPECT_EQ(row.size(), 29 + 1 + kTableWidth + 1);
}

// ---- text_line, text_view, generic lines -----------------------------------------------------

TEST(TextView, HeadersRowsExtraKeysAndGenericLines) {
    Record rough = to_record(roughtime_sample());
    rough["roughtime_version"] = "rfc";
    rough["verified"] = true;
    rough["operator_note"] = "\x1b[31mbad";  // a key the row has no column for: shown below it
    Record ntp_extra = to_record(minimal_sample());
    ntp_extra["future_key"] = Record{{"kept", {1, "x", nullptr}}};
    std::vector<Record> records = {
        to_record(Stats{"ntp://127.0.0.1:123", 5, {{"sent", 3}}}),
        to_record(full_sample()),
        ntp_extra,
        rough,
        to_record(full_sample()),
        Record{{"v", 1}, {"type", "gps"}, {"fix", "3d"}, {"note", "two words"}},
    };
    const auto lines = lines_of(text_view(records, 1700000000123456789));
    ASSERT_EQ(lines.size(), 14u);
    EXPECT_EQ(lines[0], "stats source=ntp://127.0.0.1:123 time=5 counters={\"sent\":3}");
    EXPECT_EQ(lines[1].substr(0, 11), "     remote");  // the NTP header before the first sample
    EXPECT_EQ(lines[2], std::string(kTableWidth, '='));
    EXPECT_EQ(lines[3].rfind(" 127.0.0.1 ", 0), 0u);  // a blank tally column
    EXPECT_EQ(lines[4].rfind(" ::1 ", 0), 0u);
    EXPECT_EQ(lines[5], "    future_key={\"kept\":[1,\"x\",null]}");
    EXPECT_EQ(lines[6].substr(0, 16), "          server");  // the Roughtime table
    EXPECT_EQ(lines[8].rfind(" 192.0.2.1:2002             rfc      yes", 0), 0u);
    EXPECT_EQ(lines[9], "    operator_note=\"\\x1b[31mbad\"");
    EXPECT_EQ(lines[10].substr(0, 11), "     remote");  // and back
    EXPECT_EQ(lines[12].rfind(" 127.0.0.1 ", 0), 0u);
    EXPECT_EQ(lines[13], "gps fix=3d note=\"two words\"");
    for (const auto& l : lines) {
        if (l.find('=') != 0 && l.find("stats") != 0 && l.find("gps") != 0 && l.find("    ") != 0) {
            EXPECT_LE(l.size(), kTableWidth) << l;
        }
    }
    // A sample that breaks the rules is still shown, as a generic line, and no header.
    Record bad = to_record(full_sample());
    bad["leap"] = 9;
    TableKind shown = TableKind::none;
    EXPECT_EQ(text_line(bad, 0, shown).rfind("sample source=", 0), 0u);
    EXPECT_EQ(shown, TableKind::none);
}

TEST(TextView, GenericLinesEscapeKeysValuesAndType) {
    Record r = {{"v", 1},
                {"type", "t\x1b[0m"},
                {"k\rey", "\x08\x08\x08ok"},
                {"plain", "a\\b"},
                {"nested", {{"x\x1b", {"\xc2\x9b", 1.5, true}}}},
                {"quote", "say \"hi\""}};
    const std::string line = generic_line(r);
    EXPECT_FALSE(has_raw_controls(line)) << line;
    EXPECT_EQ(line,
              "t\\x1b[0m \"k\\x0dey\"=\"\\x08\\x08\\x08ok\" plain=\"a\\\\b\" "
              "nested={\"x\\x1b\":[\"\\u009b\",1.5,true]} quote=\"say \\\"hi\\\"\"\n");
    // Strings that are not UTF-8 (never from a decoder, but from code) are escaped too.
    Record bytes = {{"v", 1}, {"type", "t"}, {"x", "\xff\xfe"}};
    EXPECT_EQ(generic_line(bytes), "t x=\"\\xff\\xfe\"\n");
}
