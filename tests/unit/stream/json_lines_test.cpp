// libtime/json_lines: exact JSON for a record, parse errors naming the line, the incremental
// reader, and randomized JSON -> record -> CBOR -> record -> JSON round trips
// (TIMEPIPE_SEED=N replays one).
#include "libtime/stream/json_lines.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "libtime/stream/records.hpp"
#include "tests/unit/stream/sample_fixtures.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;

namespace {

using timepipe::test::drain;
using timepipe::test::Drained;
using timepipe::test::test_seed;

std::string line_error(std::string_view line, std::uint64_t n = 1) {
    auto r = parse_json_line(line, n);
    if (r) return "no error";
    EXPECT_EQ(r.error().exit_code, EX_DATAERR);
    return r.error().what;
}

}  // namespace

TEST(JsonLines, ExactLine) {
    Sample s;
    s.source = "ntp://127.0.0.1:123";
    s.time = 1700000000123456789;
    s.offset = -0.000123;
    s.delay = 1.0;
    s.refid = "GPS";
    s.stratum = 1;
    EXPECT_EQ(to_json_line(to_record(s)),
              R"({"v":1,"type":"sample","source":"ntp://127.0.0.1:123","time":1700000000123456789,)"
              R"("offset":-0.000123,"delay":1.0,"dispersion":0.0,"stratum":1,"leap":0,"refid":"GPS","poll":0})"
              "\n");
}

TEST(JsonLines, LosslessNumbers) {
    Record r = {{"v", 1}, {"type", "t"}, {"a", std::numeric_limits<std::int64_t>::min()},
                {"b", std::numeric_limits<std::uint64_t>::max()}, {"c", 0.1}, {"d", 1e300},
                {"e", 5e-324}, {"f", 2.0}, {"g", -0.0}};
    std::string line = to_json_line(r);
    auto back = parse_json_line(std::string_view(line).substr(0, line.size() - 1), 1);
    ASSERT_TRUE(back) << back.error().what;
    EXPECT_EQ(*back, r);
    EXPECT_TRUE((*back)["f"].is_number_float());  // 2.0 stays a float
    EXPECT_TRUE(std::signbit((*back)["g"].get<double>()));
    EXPECT_EQ((*back)["a"].get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
}

TEST(JsonLines, BytesAsBase64url) {
    Record r = {{"v", 1}, {"type", "t"}, {"b", Record::binary({0xfb, 0xff, 0x01})}, {"c", Record::binary({0xff})},
                {"d", Record::array({Record::binary({})})}};
    EXPECT_EQ(to_json_line(r), R"({"v":1,"type":"t","b":"-_8B","c":"_w","d":[""]})" "\n");
}

TEST(JsonLines, Errors) {
    EXPECT_EQ(line_error("{\"v\":1,\"type\":\"t\"}"), "no error");
    EXPECT_EQ(line_error("{\"v\":1,", 7).rfind("line 7: column 8: syntax error", 0), 0u) << line_error("{\"v\":1,", 7);
    EXPECT_EQ(line_error("nope", 2).rfind("line 2: ", 0), 0u);
    EXPECT_EQ(line_error("[1,2]", 3), "line 3: record is not a map");
    EXPECT_EQ(line_error("{\"type\":\"t\"}"), "line 1: missing \"v\"");
    EXPECT_EQ(line_error("{\"v\":2,\"type\":\"t\"}", 4), "line 4: unsupported stream version 2");
    EXPECT_EQ(line_error("{\"v\":\"1\",\"type\":\"t\"}"), "line 1: \"v\" is not an integer");
    EXPECT_EQ(line_error("{\"v\":1}"), "line 1: missing \"type\"");
    EXPECT_EQ(line_error("{\"v\":1,\"type\":\"t\",\"x\":1e999}"), "line 1: number overflow parsing '1e999'");
    std::string deep = "{\"v\":1,\"type\":\"t\",\"x\":" + std::string(16, '[') + std::string(16, ']') + "}";
    EXPECT_EQ(line_error(deep), "line 1: \"x\": nesting deeper than 16 levels");
    EXPECT_EQ(line_error("{\"v\":1,\"type\":\"t\"} {}").rfind("line 1: column", 0), 0u);
    EXPECT_EQ(line_error("{\"v\":1,\"type\":\"\xc3\x28\"}").rfind("line 1: ", 0), 0u);
}

TEST(JsonLines, DecoderLinesAndChunks) {
    std::string text =
        "{\"v\":1,\"type\":\"a\"}\n"
        "\n"
        "  \r\n"
        "{\"v\":1,\"type\":\"b\",\"unknown\":{\"kept\":true}}\r\n"
        "{\"v\":1,\"type\":\"c\"}";  // no final newline
    for (std::size_t split = 0; split <= text.size(); ++split) {
        JsonLinesDecoder dec;
        dec.feed(std::string_view(text).substr(0, split));
        Drained d = drain(dec);
        dec.feed(std::string_view(text).substr(split));
        d = drain(dec, std::move(d));
        ASSERT_EQ(d.records.size(), 2u) << "split at " << split;  // "c" waits for its newline
        dec.finish();
        d = drain(dec, std::move(d));
        EXPECT_EQ(d.error, "");
        ASSERT_EQ(d.records.size(), 3u);
        EXPECT_EQ(d.records[1]["unknown"]["kept"], true);
        EXPECT_EQ(dec.line(), 5u);
    }
}

TEST(JsonLines, DecoderErrorNamesLineAndKeepsEarlierRecords) {
    JsonLinesDecoder dec;
    dec.feed(std::string_view("{\"v\":1,\"type\":\"a\"}\n\n{\"v\":2,\"type\":\"b\"}\n{\"v\":1,\"type\":\"c\"}\n"));
    Drained d = drain(dec);
    EXPECT_EQ(d.records.size(), 1u);
    EXPECT_EQ(d.error, "line 3: unsupported stream version 2");
    EXPECT_FALSE(dec.next());  // stays failed
}

TEST(JsonLines, OverlongLine) {
    JsonLinesDecoder dec;
    dec.feed(std::string(kMaxRecordBytes + 1, ' '));
    auto r = dec.next();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "line 1: longer than 1048576 bytes");
}

namespace {

Record random_json_value(std::mt19937_64& rng, int depth) {
    switch (rng() % (depth > 6 ? 6 : 8)) {
    case 0: return nullptr;
    case 1: return rng() % 2 == 1;
    case 2: return static_cast<std::int64_t>(rng());
    case 3: return rng();
    case 4: {
        double d = static_cast<double>(static_cast<std::int64_t>(rng())) / static_cast<double>(1 + rng() % 1000000007);
        return d;
    }
    case 5: {
        static const char* const kPieces[] = {"a", " ", "\"", "\\", "\t", "\u00e9", "\u6c34", "\U0001F600", "/"};
        std::string s;
        for (auto n = rng() % 6; n > 0; --n) s += kPieces[rng() % 9];
        return s;
    }
    case 6: {
        Record a = Record::array();
        for (auto n = rng() % 4; n > 0; --n) a.push_back(random_json_value(rng, depth + 1));
        return a;
    }
    default: {
        Record o = Record::object();
        for (auto n = rng() % 4; n > 0; --n) o["k" + std::to_string(rng() % 100)] = random_json_value(rng, depth + 1);
        return o;
    }
    }
}

}  // namespace

TEST(JsonLines, RandomRoundTripThroughCbor) {
    const std::uint64_t seed = test_seed("JsonLines.RandomRoundTripThroughCbor");
    SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    std::string text;
    std::vector<Record> records;
    for (int i = 0; i < 300; ++i) {
        Record r = {{"v", 1}, {"type", "t" + std::to_string(i)}};
        for (auto n = rng() % 6; n > 0; --n) r["x" + std::to_string(rng() % 50)] = random_json_value(rng, 2);
        records.push_back(r);
        text += to_json_line(r);
    }
    JsonLinesDecoder dec;
    dec.feed(text);
    dec.finish();
    Drained d = drain(dec);
    ASSERT_EQ(d.error, "");
    ASSERT_EQ(d.records, records);
    std::vector<std::byte> cbor;
    for (const auto& r : d.records) ASSERT_TRUE(encode_record(r, cbor));
    auto back = decode_records(cbor);
    ASSERT_TRUE(back) << back.error().what;
    std::string again;
    for (const auto& r : *back) again += to_json_line(r);
    EXPECT_EQ(again, text);
}
