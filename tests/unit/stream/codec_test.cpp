// libtime/stream: fixed vectors written by hand from RFC 8949 (appendix A), every decoder error
// with its byte offset, chunked decoding split at every position, randomized round trips
// (TIMEPIPE_SEED=N replays one).
#include "libtime/stream/codec.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>

#include "tests/unit/stream/sample_fixtures.hpp"
#include "tests/unit/test_support.hpp"

using timepipe::decode_records;
using timepipe::encode_record;
using timepipe::Record;
using timepipe::StreamDecoder;

namespace {

using timepipe::test::test_seed;
using timepipe::test::hex;

std::string to_hex(std::span<const std::byte> b) {
    std::string s;
    char d[4];
    for (auto x : b) {
        std::snprintf(d, sizeof d, "%02x", std::to_integer<unsigned>(x));
        s += d;
    }
    return s;
}

std::vector<std::byte> cat(std::vector<std::byte> a, const std::vector<std::byte>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// {"v": 1, "type": "t", "x": <value>}: the value starts at byte 13.
constexpr std::string_view kPrefix = "a3 6176 01 6474797065 6174 6178";
constexpr std::uint64_t kValueAt = 13;

Record decode_value(std::string_view value_hex) {
    auto r = decode_records(hex(std::string(kPrefix) + std::string(value_hex)));
    EXPECT_TRUE(r) << (r ? "" : r.error().what);
    if (!r || r->size() != 1) return Record();
    return (*r)[0]["x"];
}

std::string decode_error(const std::vector<std::byte>& bytes) {
    auto r = decode_records(bytes);
    if (r) return "no error";
    EXPECT_EQ(r.error().exit_code, EX_DATAERR);
    return r.error().what;
}
std::string value_error(std::string_view value_hex) {
    return decode_error(hex(std::string(kPrefix) + std::string(value_hex)));
}

Record rec(Record extra = Record::object()) {
    Record r = {{"v", 1}, {"type", "t"}};
    for (auto& item : extra.items()) r[item.key()] = item.value();
    return r;
}

}  // namespace

// ---- fixed vectors -------------------------------------------------------------------------

TEST(StreamVectors, MinimalRecordByHand) {
    // {"v": 1, "type": "t"}
    auto bytes = hex("a2 61 76 01 64 74 79 70 65 61 74");
    auto r = decode_records(bytes);
    ASSERT_TRUE(r) << r.error().what;
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0], rec());
    EXPECT_EQ(to_hex(*encode_record(rec())), to_hex(bytes));
}

TEST(StreamVectors, RecordIsASequenceOfMaps) {
    auto one = hex("a2 6176 01 6474797065 6174");
    auto r = decode_records(cat(cat(one, one), one));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->size(), 3u);
    auto empty = decode_records({});
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->empty());
}

TEST(StreamVectors, Rfc8949Integers) {
    EXPECT_EQ(decode_value("00"), 0);
    EXPECT_EQ(decode_value("17"), 23);
    EXPECT_EQ(decode_value("1818"), 24);
    EXPECT_EQ(decode_value("1864"), 100);
    EXPECT_EQ(decode_value("1903e8"), 1000);
    EXPECT_EQ(decode_value("1a000f4240"), 1000000);
    EXPECT_EQ(decode_value("1b000000e8d4a51000"), 1000000000000);
    EXPECT_EQ(decode_value("1bffffffffffffffff").get<std::uint64_t>(), 18446744073709551615u);
    EXPECT_TRUE(decode_value("1bffffffffffffffff").is_number_unsigned());
    EXPECT_EQ(decode_value("20"), -1);
    EXPECT_EQ(decode_value("29"), -10);
    EXPECT_EQ(decode_value("3863"), -100);
    EXPECT_EQ(decode_value("3903e7"), -1000);
    EXPECT_EQ(decode_value("3b7fffffffffffffff").get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
}

TEST(StreamVectors, Rfc8949Floats) {
    EXPECT_EQ(decode_value("f90000").get<double>(), 0.0);
    EXPECT_TRUE(std::signbit(decode_value("f98000").get<double>()));
    EXPECT_EQ(decode_value("f93c00").get<double>(), 1.0);
    EXPECT_EQ(decode_value("fb3ff199999999999a").get<double>(), 1.1);
    EXPECT_EQ(decode_value("f93e00").get<double>(), 1.5);
    EXPECT_EQ(decode_value("f97bff").get<double>(), 65504.0);
    EXPECT_EQ(decode_value("fa47c35000").get<double>(), 100000.0);
    EXPECT_EQ(decode_value("fa7f7fffff").get<double>(), 3.4028234663852886e+38);
    EXPECT_EQ(decode_value("fb7e37e43c8800759c").get<double>(), 1.0e+300);
    EXPECT_EQ(decode_value("f90001").get<double>(), 5.960464477539063e-8);
    EXPECT_EQ(decode_value("f90400").get<double>(), 0.00006103515625);
    EXPECT_EQ(decode_value("f9c400").get<double>(), -4.0);
    EXPECT_EQ(decode_value("fbc010666666666666").get<double>(), -4.1);
    EXPECT_TRUE(decode_value("f93c00").is_number_float());
}

TEST(StreamVectors, Rfc8949SimpleStringsContainers) {
    EXPECT_EQ(decode_value("f4"), false);
    EXPECT_EQ(decode_value("f5"), true);
    EXPECT_TRUE(decode_value("f6").is_null());
    EXPECT_EQ(decode_value("40"), Record::binary({}));
    EXPECT_EQ(decode_value("4401020304"), Record::binary({1, 2, 3, 4}));
    EXPECT_EQ(decode_value("60"), "");
    EXPECT_EQ(decode_value("6161"), "a");
    EXPECT_EQ(decode_value("6449455446"), "IETF");
    EXPECT_EQ(decode_value("62225c"), "\"\\");
    EXPECT_EQ(decode_value("62c3bc"), "\u00fc");
    EXPECT_EQ(decode_value("63e6b0b4"), "\u6c34");
    EXPECT_EQ(decode_value("64f0908591"), "\U00010151");
    EXPECT_EQ(decode_value("80"), Record::array());
    EXPECT_EQ(decode_value("83010203"), Record({1, 2, 3}));
    EXPECT_EQ(decode_value("8301820203820405"), Record::parse("[1,[2,3],[4,5]]"));
    EXPECT_EQ(decode_value("98190102030405060708090a0b0c0d0e0f101112131415161718181819").size(), 25u);
    EXPECT_EQ(decode_value("a0"), Record::object());
    EXPECT_EQ(decode_value("a26161016162820203"), Record::parse(R"({"a":1,"b":[2,3]})"));
}

TEST(StreamVectors, Rfc8949IndefiniteLengths) {
    EXPECT_EQ(decode_value("5f42010243030405ff"), Record::binary({1, 2, 3, 4, 5}));
    EXPECT_EQ(decode_value("7f657374726561646d696e67ff"), "streaming");
    EXPECT_EQ(decode_value("9fff"), Record::array());
    EXPECT_EQ(decode_value("9f018202039f0405ffff"), Record::parse("[1,[2,3],[4,5]]"));
    EXPECT_EQ(decode_value("83018202039f0405ff"), Record::parse("[1,[2,3],[4,5]]"));
    EXPECT_EQ(decode_value("bf61610161629f0203ffff"), Record::parse(R"({"a":1,"b":[2,3]})"));
    EXPECT_EQ(decode_value("bf6346756ef563416d7421ff"), Record::parse(R"({"Fun":true,"Amt":-2})"));
    // An indefinite-length text key, and an indefinite-length record.
    EXPECT_EQ(decode_value("a17f6161ff01"), Record::parse(R"({"a":1})"));
    auto r = decode_records(hex("bf 6176 01 6474797065 6174 ff"));
    ASSERT_TRUE(r) << r.error().what;
    EXPECT_EQ((*r)[0], rec());
}

TEST(StreamVectors, EncodingIsShortestDefiniteFloat64) {
    Record r = rec({{"a", 24}, {"b", -1000}, {"c", 1.5}, {"d", "IETF"}, {"e", Record::binary({1, 2})},
                    {"f", Record::array({true, nullptr})}, {"g", std::numeric_limits<std::uint64_t>::max()},
                    {"h", std::numeric_limits<std::int64_t>::min()}});
    auto bytes = encode_record(r);
    ASSERT_TRUE(bytes) << bytes.error().what;
    EXPECT_EQ(to_hex(*bytes), to_hex(hex("aa 6176 01 6474797065 6174"
                                         "6161 1818"
                                         "6162 3903e7"
                                         "6163 fb3ff8000000000000"
                                         "6164 6449455446"
                                         "6165 420102"
                                         "6166 82f5f6"
                                         "6167 1bffffffffffffffff"
                                         "6168 3b7fffffffffffffff")));
}

// ---- errors and their offsets --------------------------------------------------------------

TEST(StreamErrors, RecordRules) {
    EXPECT_EQ(decode_error(hex("01")), "byte 0: record is not a map");
    EXPECT_EQ(decode_error(hex("83010203")), "byte 0: record is not a map");
    EXPECT_EQ(decode_error(hex("6161")), "byte 0: record is not a map");
    EXPECT_EQ(decode_error(hex("a0")), "byte 0: missing \"v\"");
    EXPECT_EQ(decode_error(hex("a1 6474797065 6174")), "byte 0: missing \"v\"");
    EXPECT_EQ(decode_error(hex("a2 6176 6131 6474797065 6174")), "byte 0: \"v\" is not an integer");
    EXPECT_EQ(decode_error(hex("a2 6176 f93c00 6474797065 6174")), "byte 0: \"v\" is not an integer");
    EXPECT_EQ(decode_error(hex("a2 6176 02 6474797065 6174")), "byte 0: unsupported stream version 2");
    EXPECT_EQ(decode_error(hex("a2 6176 00 6474797065 6174")), "byte 0: bad stream version 0");
    EXPECT_EQ(decode_error(hex("a2 6176 20 6474797065 6174")), "byte 0: bad stream version -1");
    EXPECT_EQ(decode_error(hex("a1 6176 01")), "byte 0: missing \"type\"");
    EXPECT_EQ(decode_error(hex("a2 6176 01 6474797065 01")), "byte 0: \"type\" is not a text string");
    EXPECT_EQ(decode_error(hex("a2 6176 01 6474797065 60")), "byte 0: empty \"type\"");
    // The offset is the record's, not the stream's start.
    auto good = hex("a2 6176 01 6474797065 6174");
    EXPECT_EQ(decode_error(cat(good, hex("a2 6176 02 6474797065 6174"))), "byte 11: unsupported stream version 2");
    EXPECT_EQ(decode_error(cat(good, hex("f6"))), "byte 11: record is not a map");
}

TEST(StreamErrors, MapsAndKeys) {
    // The third key starts at byte 11.
    EXPECT_EQ(decode_error(hex("a3 6176 01 6474797065 6174 01 02")), "byte 11: map key is not a text string");
    EXPECT_EQ(decode_error(hex("a3 6176 01 6474797065 6174 4161 02")), "byte 11: map key is not a text string");
    EXPECT_EQ(decode_error(hex("a3 6176 01 6474797065 6174 80 02")), "byte 11: map key is not a text string");
    EXPECT_EQ(decode_error(hex("a3 6176 01 6474797065 6174 6176 01")), "byte 11: duplicate key \"v\"");
    EXPECT_EQ(decode_error(hex("a3 6176 01 6474797065 6174 7f6176ff 01")), "byte 11: duplicate key \"v\"");
    EXPECT_EQ(value_error("a1 01 02"), "byte 14: map key is not a text string");
}

TEST(StreamErrors, Values) {
    EXPECT_EQ(value_error("3bffffffffffffffff"), "byte 13: integer below -2^63");
    EXPECT_EQ(value_error("f97c00"), "byte 13: non-finite float");
    EXPECT_EQ(value_error("f97e00"), "byte 13: non-finite float");
    EXPECT_EQ(value_error("fb7ff8000000000000"), "byte 13: non-finite float");
    EXPECT_EQ(value_error("f7"), "byte 13: undefined is not supported");
    EXPECT_EQ(value_error("c11a514b67b0"), "byte 13: unsupported tag 1");
    EXPECT_EQ(value_error("d9d9f7 01"), "byte 13: unsupported tag 55799");
    EXPECT_EQ(value_error("62c328"), "byte 13: invalid UTF-8 in text string");
    EXPECT_EQ(value_error("63eda080"), "byte 13: invalid UTF-8 in text string");  // a surrogate
    EXPECT_EQ(value_error("62c0af"), "byte 13: invalid UTF-8 in text string");    // overlong
    EXPECT_EQ(value_error("f820"), "byte 13: unsupported simple value (initial byte 0xf8)");
    EXPECT_EQ(value_error("f0"), "byte 13: unsupported simple value (initial byte 0xf0)");
    EXPECT_EQ(value_error("1c"), "byte 13: reserved additional information in initial byte 0x1c");
    EXPECT_EQ(value_error("5d"), "byte 13: reserved additional information in initial byte 0x5d");
    EXPECT_EQ(value_error("fe"), "byte 13: reserved additional information in initial byte 0xfe");
}

TEST(StreamErrors, IndefiniteLengthNonsense) {
    EXPECT_EQ(value_error("1f"), "byte 13: indefinite length in initial byte 0x1f");
    EXPECT_EQ(value_error("3f"), "byte 13: indefinite length in initial byte 0x3f");
    EXPECT_EQ(value_error("ff"), "byte 13: unexpected break");
    EXPECT_EQ(decode_error(hex("ff")), "byte 0: unexpected break");
    EXPECT_EQ(value_error("8201ff"), "byte 15: unexpected break");
    EXPECT_EQ(value_error("5f 6161 ff"), "byte 14: bad chunk in indefinite-length string");
    EXPECT_EQ(value_error("7f 4161 ff"), "byte 14: bad chunk in indefinite-length string");
    EXPECT_EQ(value_error("7f 01 ff"), "byte 14: bad chunk in indefinite-length string");
    EXPECT_EQ(value_error("7f 7f ff ff"), "byte 14: bad chunk in indefinite-length string");
    EXPECT_EQ(value_error("7f 80 ff"), "byte 14: bad chunk in indefinite-length string");
    EXPECT_EQ(value_error("bf 6161 ff"), "byte 16: map ends after a key");
}

TEST(StreamErrors, NestingBound) {
    // The record is level 1; 15 more levels are fine, the 16th array inside is level 17.
    std::string ok(kPrefix), deep(kPrefix);
    for (int i = 0; i < timepipe::kMaxNesting - 1; ++i) ok += "81";
    ok += "01";
    EXPECT_TRUE(decode_records(hex(ok))) << decode_error(hex(ok));
    for (int i = 0; i < timepipe::kMaxNesting; ++i) deep += "81";
    deep += "01";
    EXPECT_EQ(decode_error(hex(deep)), "byte " + std::to_string(kValueAt + timepipe::kMaxNesting - 1) +
                                           ": nesting deeper than 16 levels");
    // Zero-length containers count too.
    std::string empty(kPrefix);
    for (int i = 0; i < timepipe::kMaxNesting - 1; ++i) empty += "81";
    empty += "80";
    EXPECT_NE(decode_error(hex(empty)), "no error");
}

TEST(StreamErrors, TruncatedAtEof) {
    auto good = hex("a2 6176 01 6474797065 6174");
    for (std::size_t cut = 1; cut < good.size(); ++cut) {
        std::vector<std::byte> part(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(cut));
        EXPECT_EQ(decode_error(part), "byte 0: truncated record") << "cut at " << cut;
        EXPECT_EQ(decode_error(cat(good, part)), "byte 11: truncated record") << "cut at " << cut;
    }
    // A string whose declared length is past the end.
    EXPECT_EQ(value_error("7b00000000ffffffff"), "byte 0: truncated record");
    EXPECT_EQ(value_error("9f01"), "byte 0: truncated record");
}

TEST(StreamErrors, RecordSizeBound) {
    std::vector<std::byte> big = hex(std::string(kPrefix) + "7a00100000");  // a 1 MiB string
    big.resize(big.size() + timepipe::kMaxRecordBytes, std::byte{'a'});
    EXPECT_EQ(decode_error(big), "byte 0: record longer than 1048576 bytes");
    // Fed in pieces, the decoder gives up without waiting for the whole string.
    StreamDecoder dec;
    dec.feed(std::span(big).first(timepipe::kMaxRecordBytes + 1));
    auto r = dec.next();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "byte 0: record longer than 1048576 bytes");
}

TEST(StreamErrors, ErrorIsFinalAndRecordsBeforeItSurvive) {
    auto good = hex("a2 6176 01 6474797065 6174");
    StreamDecoder dec;
    dec.feed(cat(good, hex("f6")));
    auto first = dec.next();
    ASSERT_TRUE(first);
    ASSERT_TRUE(*first);
    EXPECT_EQ(**first, rec());
    EXPECT_EQ(dec.offset(), 11u);
    for (int i = 0; i < 3; ++i) {
        auto r = dec.next();
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().what, "byte 11: record is not a map");
    }
    dec.feed(good);
    EXPECT_FALSE(dec.next());
}

// ---- incremental decoding ------------------------------------------------------------------

namespace {

using timepipe::test::drain;
using timepipe::test::Drained;

std::vector<std::byte> sample_stream() {
    std::vector<std::byte> out;
    EXPECT_TRUE(encode_record(rec({{"time", 1700000000123456789}, {"offset", -1.25e-4}}), out));
    EXPECT_TRUE(encode_record(rec({{"s", "\u6c34 water"}, {"b", Record::binary({0, 255})}}), out));
    auto indefinite = hex("bf 6176 01 6474797065 6174 6161 9f 01 7f 6161 6162 ff ff ff");
    out.insert(out.end(), indefinite.begin(), indefinite.end());
    EXPECT_TRUE(encode_record(rec({{"n", Record::array({Record::object(), Record::array()})}}), out));
    return out;
}

}  // namespace

TEST(StreamChunks, SplitAtEveryBytePosition) {
    auto bytes = sample_stream();
    auto whole = decode_records(bytes);
    ASSERT_TRUE(whole) << whole.error().what;
    ASSERT_EQ(whole->size(), 4u);
    for (std::size_t split = 0; split <= bytes.size(); ++split) {
        StreamDecoder dec;
        dec.feed(std::span(bytes).first(split));
        Drained d = drain(dec);
        dec.feed(std::span(bytes).subspan(split));
        dec.finish();
        d = drain(dec, std::move(d));
        EXPECT_EQ(d.error, "") << "split at " << split;
        EXPECT_EQ(d.records, *whole) << "split at " << split;
    }
}

TEST(StreamChunks, OneByteAtATime) {
    auto bytes = sample_stream();
    StreamDecoder dec;
    Drained d;
    for (auto b : bytes) {
        dec.feed(std::span(&b, 1));
        d = drain(dec, std::move(d));
    }
    EXPECT_EQ(d.records.size(), 4u);
    dec.finish();
    d = drain(dec, std::move(d));
    EXPECT_EQ(d.error, "");
    EXPECT_EQ(dec.offset(), bytes.size());
}

TEST(StreamChunks, ErrorOffsetsDoNotDependOnChunking) {
    auto bytes = cat(sample_stream(), hex("a3 6176 01 6474797065 6174 6178 62c328"));
    std::string want = "byte " + std::to_string(sample_stream().size() + kValueAt) + ": invalid UTF-8 in text string";
    for (std::size_t split = 0; split <= bytes.size(); ++split) {
        StreamDecoder dec;
        dec.feed(std::span(bytes).first(split));
        Drained d = drain(dec);
        dec.feed(std::span(bytes).subspan(split));
        dec.finish();
        d = drain(dec, std::move(d));
        EXPECT_EQ(d.records.size(), 4u) << "split at " << split;
        EXPECT_EQ(d.error, want) << "split at " << split;
    }
    auto truncated = std::span(bytes).first(bytes.size() - 1);
    for (std::size_t split = 0; split <= truncated.size(); ++split) {
        StreamDecoder dec;
        dec.feed(truncated.first(split));
        Drained d = drain(dec);
        dec.feed(truncated.subspan(split));
        dec.finish();
        d = drain(dec, std::move(d));
        EXPECT_EQ(d.error, "byte " + std::to_string(sample_stream().size()) + ": truncated record");
    }
}

// ---- encoding ------------------------------------------------------------------------------

TEST(StreamEncode, LosslessInt64Nanoseconds) {
    for (std::int64_t ns : {std::int64_t{0}, std::int64_t{1700000000123456789}, std::int64_t{-1},
                            std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min(),
                            std::int64_t{9007199254740993}}) {  // 2^53 + 1: a double would lose it
        auto bytes = encode_record(rec({{"time", ns}}));
        ASSERT_TRUE(bytes);
        auto back = decode_records(*bytes);
        ASSERT_TRUE(back);
        EXPECT_EQ((*back)[0]["time"].get<std::int64_t>(), ns);
        EXPECT_TRUE((*back)[0]["time"].is_number_integer());
    }
}

TEST(StreamEncode, UnknownKeysAndOrderKept) {
    Record r = rec({{"zeta", 1}, {"alpha", Record::object({{"nested", "x"}})}, {"future_key", nullptr}});
    auto back = decode_records(*encode_record(r));
    ASSERT_TRUE(back);
    EXPECT_EQ((*back)[0], r);
    EXPECT_EQ((*back)[0].dump(), r.dump());
}

TEST(StreamEncode, RefusesWhatReadersWouldRefuse) {
    auto why = [](const Record& r) {
        std::vector<std::byte> out{std::byte{0x42}};
        auto ok = encode_record(r, out);
        EXPECT_EQ(out.size(), 1u) << "appended on failure";
        return ok ? std::string("no error") : ok.error().what;
    };
    EXPECT_EQ(why(Record::array()), "record is not a map");
    EXPECT_EQ(why(Record::object({{"type", "t"}})), "missing \"v\"");
    EXPECT_EQ(why(Record::object({{"v", 2}, {"type", "t"}})), "unsupported stream version 2");
    EXPECT_EQ(why(Record::object({{"v", 1}})), "missing \"type\"");
    EXPECT_EQ(why(rec({{"x", std::nan("")}})), "\"x\": non-finite number");
    EXPECT_EQ(why(rec({{"x", std::numeric_limits<double>::infinity()}})), "\"x\": non-finite number");
    EXPECT_EQ(why(rec({{"x", "\xc3\x28"}})), "\"x\": invalid UTF-8");
    Record deep = 1;
    for (int i = 0; i < timepipe::kMaxNesting; ++i) deep = Record::array({deep});
    EXPECT_EQ(why(rec({{"x", deep}})), "\"x\": nesting deeper than 16 levels");
    EXPECT_EQ(why(rec({{"x", Record(Record::value_t::discarded)}})), "\"x\": not a CBOR value");
}

// ---- randomized round trips ----------------------------------------------------------------

namespace {

struct Gen {
    std::mt19937_64 rng;

    std::uint64_t u64() { return rng(); }
    int below(int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); }

    std::string text() {
        static const char* const kPieces[] = {"a", "Z", "0", " ", "\"", "\\", "\n", "\u00fc", "\u6c34",
                                              "\U00010151", "ntp://", "\x7f", "\x01"};
        std::string s;
        for (int n = below(8); n > 0; --n) s += kPieces[below(13)];
        return s;
    }
    double real() {
        for (;;) {  // any finite double, bit patterns included
            double d;
            switch (below(3)) {
            case 0: d = std::bit_cast<double>(u64()); break;
            case 1: d = static_cast<double>(static_cast<std::int64_t>(u64())) / 1e9; break;
            default: d = below(100) / 8.0; break;
            }
            if (std::isfinite(d)) return d;
        }
    }
    Record value(int depth, bool binary) {
        switch (below(depth >= timepipe::kMaxNesting ? 7 : 9)) {
        case 0: return nullptr;
        case 1: return below(2) == 1;
        case 2: return u64();
        case 3: return static_cast<std::int64_t>(u64() | (std::uint64_t{1} << 63));  // negative
        case 4: return real();
        case 5: return text();
        case 6:
            if (binary) {
                std::vector<std::uint8_t> b(static_cast<std::size_t>(below(6)));
                for (auto& x : b) x = static_cast<std::uint8_t>(u64());
                return Record::binary(b);
            }
            return static_cast<std::int64_t>(below(100)) - 50;
        case 7: {
            Record a = Record::array();
            for (int n = below(4); n > 0; --n) a.push_back(value(depth + 1, binary));
            return a;
        }
        default: {
            Record o = Record::object();
            for (int n = below(4); n > 0; --n) o["k" + text()] = value(depth + 1, binary);
            return o;
        }
        }
    }
    Record record(bool binary) {
        Record r = {{"v", 1}, {"type", "t" + text()}};
        for (int n = below(6); n > 0; --n) r["x" + text()] = value(2, binary);
        return r;
    }
};

}  // namespace

TEST(StreamRandom, RoundTrip) {
    const std::uint64_t seed = test_seed("StreamRandom.RoundTrip");
    SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed));
    Gen g{std::mt19937_64(seed)};
    std::vector<Record> records;
    std::vector<std::byte> stream;
    for (int i = 0; i < 500; ++i) {
        records.push_back(g.record(true));
        auto ok = encode_record(records.back(), stream);
        ASSERT_TRUE(ok) << ok.error().what << " in " << records.back().dump();
    }
    auto back = decode_records(stream);
    ASSERT_TRUE(back) << back.error().what;
    ASSERT_EQ(back->size(), records.size());
    for (std::size_t i = 0; i < records.size(); ++i) ASSERT_EQ((*back)[i], records[i]) << "record " << i;
    // Re-encoding what was decoded gives the same bytes.
    std::vector<std::byte> again;
    for (const auto& r : *back) ASSERT_TRUE(encode_record(r, again));
    EXPECT_EQ(again, stream);
    // And random chunking decodes the same records.
    StreamDecoder dec;
    Drained d;
    for (std::size_t pos = 0; pos < stream.size();) {
        std::size_t n = std::min<std::size_t>(stream.size() - pos, 1 + g.u64() % 64);
        dec.feed(std::span(stream).subspan(pos, n));
        pos += n;
        d = drain(dec, std::move(d));
    }
    dec.finish();
    d = drain(dec, std::move(d));
    EXPECT_EQ(d.error, "");
    EXPECT_EQ(d.records, records);
}

TEST(StreamRandom, GarbageNeverCrashesAndErrorsNameAByte) {
    const std::uint64_t seed = test_seed("StreamRandom.GarbageNeverCrashesAndErrorsNameAByte");
    SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed));
    Gen g{std::mt19937_64(seed)};
    for (int i = 0; i < 2000; ++i) {
        std::vector<std::byte> bytes;
        ASSERT_TRUE(encode_record(g.record(true), bytes));
        // Flip a byte or cut the tail.
        auto at = static_cast<std::size_t>(g.u64() % bytes.size());
        if (g.below(2) == 1) bytes[at] = static_cast<std::byte>(g.u64());
        else bytes.resize(at);
        auto r = decode_records(bytes);
        if (!r) {
            const auto& what = r.error().what;
            ASSERT_EQ(what.rfind("byte ", 0), 0u) << what;
            auto n = std::stoull(what.substr(5));
            EXPECT_LT(n, std::max<std::size_t>(bytes.size(), 1)) << what;
        }
    }
}
