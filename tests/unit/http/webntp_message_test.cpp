// libtime/http/webntp_message: go-webntp's JSON line byte for byte, the 6-decimal timestamp with
// correct rounding and carry (go-webntp's old formatter printed 1.1000000 for 1.9999996), the
// forms a timestamp may arrive in, the limits, and each refusal with its reason.
#include "libtime/http/webntp_message.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

using namespace timepipe;
using namespace timepipe::http;

namespace {

constexpr std::int64_t kS = kNanosPerSecond;

TEST(WebNtpMessage, FormatsSixDecimalsCorrectlyRounded) {
    struct Case { UnixNanos t; const char* want; };
    const Case cases[] = {
        {0, "0.000000"},
        {1 * kS, "1.000000"},
        {1'700'000'000 * kS + 123'456'789, "1700000000.123457"},
        {1'700'000'000 * kS + 123'456'499, "1700000000.123456"},
        {1'700'000'000 * kS + 123'456'500, "1700000000.123457"},   // half: away from zero
        {1 * kS + 999'999'600, "2.000000"},                        // 1.9999996: carry
        {1 * kS + 999'999'499, "1.999999"},
        {1'483'228'799 * kS + 999'999'999, "1483228800.000000"},
        {-500'000'000, "-0.500000"},
        {-1 * kS - 999'999'600, "-2.000000"},
        {-400, "0.000000"},                                        // rounds to zero: no "-0"
        {std::numeric_limits<std::int64_t>::max(), "9223372036.854776"},
        {std::numeric_limits<std::int64_t>::min(), "-9223372036.854776"},
    };
    for (const auto& c : cases) EXPECT_EQ(format_timestamp(c.t), c.want) << c.t;
}

TEST(WebNtpMessage, ParsesIntegersAndOneToNineDecimals) {
    EXPECT_EQ(*parse_timestamp("1700000000"), 1'700'000'000 * kS);
    EXPECT_EQ(*parse_timestamp("1700000000.123457"), 1'700'000'000 * kS + 123'457'000);
    EXPECT_EQ(*parse_timestamp("1700000000.1234567"), 1'700'000'000 * kS + 123'456'700);  // 7-digit form
    EXPECT_EQ(*parse_timestamp("1.1000000"), 1 * kS + 100'000'000);
    EXPECT_EQ(*parse_timestamp("1700000000.5"), 1'700'000'000 * kS + 500'000'000);
    EXPECT_EQ(*parse_timestamp("0.000000001"), 1);
    EXPECT_EQ(*parse_timestamp("-0.5"), -500'000'000);
    EXPECT_EQ(*parse_timestamp("-1.25"), -1'250'000'000);
    EXPECT_EQ(*parse_timestamp("9223372036.854775807"), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(*parse_timestamp("-9223372036.854775808"), std::numeric_limits<std::int64_t>::min());
}

TEST(WebNtpMessage, RefusesMalformedAndHugeTimestamps) {
    const char* bad[] = {"", "-", ".5", "1.", "1.2.3", "1e9", "+1", " 1", "1 ", "0x10", "1.0000000001",
                         "9223372036.854775808", "-9223372036.854775809", "99999999999", "1,5",
                         "18446744073709551617"};
    for (const char* b : bad) {
        auto r = parse_timestamp(b);
        ASSERT_FALSE(r) << b;
        EXPECT_EQ(r.error().exit_code, EX_DATAERR);
        EXPECT_EQ(r.error().what.find('\n'), std::string::npos);
    }
    EXPECT_EQ(parse_timestamp("1e9").error().what, "timestamp: unexpected character");
    EXPECT_EQ(parse_timestamp("99999999999").error().what, "timestamp out of range");
}

TEST(WebNtpMessage, FormatParseRoundTripAtMicroseconds) {
    for (UnixNanos t : {UnixNanos{0}, 1'700'000'000 * kS + 123'457'000, -3 * kS - 1000, 4'102'444'800 * kS}) {
        auto back = parse_timestamp(format_timestamp(t));
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, t);
    }
}

TEST(WebNtpMessage, JsonLineIsGoWebntpsBytes) {
    WebNtpReply r{.id = "example.net:8080",
                  .it = 1'700'000'000 * kS + 123'456'700,
                  .st = 1'700'000'001 * kS + 999'999'600,
                  .time = 1'700'000'001 * kS + 999'999'600,
                  .leap = 37,
                  .next = 1'483'228'800 * kS,
                  .step = 1};
    EXPECT_EQ(to_json_line(r),
              R"({"id":"example.net:8080","it":1700000000.123457,"st":1700000002.000000,)"
              R"("time":1700000002.000000,"leap":37,"next":1483228800.000000,"step":1})");
}

TEST(WebNtpMessage, JsonLineEscapesTheId) {
    WebNtpReply r{};
    r.id = std::string("a\"b\\c\n\x01\xff") + "\xc3\xa9";
    const std::string line = to_json_line(r);
    const std::string want = R"({"id":"a\"b\\c\n\u0001\ufffd)" "\xc3\xa9\",\"it\":0.000000,";
    EXPECT_EQ(line.substr(0, want.size()), want);
    auto back = parse_json_line(line);
    ASSERT_TRUE(back) << back.error().what;
    EXPECT_EQ(back->id, std::string("a\"b\\c\n\x01") + "\xef\xbf\xbd" + "\xc3\xa9");
}

TEST(WebNtpMessage, ParsesWhatServersSend) {
    // go-webntp's current server: trimmed nanoseconds, integers for whole seconds, a newline.
    auto r = parse_json_line(
        R"({"id":"localhost:8080","it":1700000000.5,"st":1700000002.123456789,"time":1700000002.123456789,"leap":36,"next":1483228800,"step":1})"
        "\n");
    ASSERT_TRUE(r) << r.error().what;
    EXPECT_EQ(r->id, "localhost:8080");
    EXPECT_EQ(r->it, 1'700'000'000 * kS + 500'000'000);
    EXPECT_EQ(r->st, 1'700'000'002 * kS + 123'456'789);
    EXPECT_EQ(r->leap, 36);
    EXPECT_EQ(r->next, 1'483'228'800 * kS);
    EXPECT_EQ(r->step, 1);
    // Any key order, whitespace, an unknown key, \u escapes with a surrogate pair.
    auto s = parse_json_line(
        " { \"step\" : -1 , \"next\":0.0,\"leap\":-5,\"extra\":[1],\"time\":2.0,\"st\":1.0,\"it\":0,\"id\":\"\\ud83d\\ude00\"}");
    EXPECT_FALSE(s);  // arrays are not scalars
    s = parse_json_line(
        " { \"step\" : -1 , \"next\":0.0,\"leap\":-5,\"extra\":null,\"x\":\"y\",\"time\":2.0,\"st\":1.0,\"it\":0,\"id\":\"\\ud83d\\ude00\"}");
    ASSERT_TRUE(s) << s.error().what;
    EXPECT_EQ(s->id, "\xf0\x9f\x98\x80");
    EXPECT_EQ(s->step, -1);
    EXPECT_EQ(s->time, 2 * kS);
}

TEST(WebNtpMessage, RefusesMalformedLinesWithOneLineReasons) {
    struct Case { const char* in; const char* why; };
    const Case cases[] = {
        {"", "byte 0: expected '{'"},
        {"[]", "byte 0: expected '{'"},
        {R"({"id":"a","it":0,"st":0,"time":0,"leap":0,"next":0})", "missing key \"step\""},
        {R"({"id":"a","it":0,"st":0,"time":0,"leap":0,"next":0,"step":1,"st":1})", "byte 65: \"st\": duplicate key"},
        {R"({"id":"a","it":0,"st":"1","time":0,"leap":0,"next":0,"step":1})", "byte 22: \"st\": expected a number, got a string"},
        {R"({"id":"a","it":0,"st":1e9,"time":0,"leap":0,"next":0,"step":1})", "byte 22: \"st\": timestamp: unexpected character"},
        {R"({"id":"a","it":0,"st":0,"time":0,"leap":0,"next":0,"step":2})", "byte 58: \"step\": out of range"},
        {R"({"id":"a","it":0,"st":0,"time":0,"leap":0,"next":0,"step":1} x)", "byte 61: trailing bytes after the object"},
        {R"({"id":"a)", "byte 8: unterminated string"},
        {"{\"id\":\"\xff\"}", "byte 7: invalid UTF-8"},
        {R"({"id":"a","it":01})", "byte 15: leading zero in number"},
        {R"({"id" "a"})", "byte 6: expected ':'"},
    };
    for (const auto& c : cases) {
        auto r = parse_json_line(c.in);
        ASSERT_FALSE(r) << c.in;
        EXPECT_EQ(r.error().what, c.why) << c.in;
        EXPECT_EQ(r.error().exit_code, EX_DATAERR);
    }
}

}  // namespace
