// libtime/refclock/nmea: checksum, GGA/RMC/ZDA/GNS from any talker, field checks, the 128-byte
// limit, garbage and cut lines skipped without losing sync (randomized splits: TIMEPIPE_SEED=N).
#include "libtime/refclock/nmea.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::refclock;

namespace {

// "$BODY*hh" with the right checksum.
std::string nmea(const std::string& body) {
    char sum[8];
    std::snprintf(sum, sizeof sum, "*%02X", nmea_checksum(body));
    return "$" + body + sum;
}

std::vector<std::pair<std::string, UnixNanos>> split_all(SentenceSplitter& s, const std::string& bytes, UnixNanos t) {
    std::vector<std::pair<std::string, UnixNanos>> out;
    s.feed(std::as_bytes(std::span(bytes.data(), bytes.size())), t,
           [&](std::string_view line, UnixNanos first) { out.emplace_back(std::string(line), first); });
    return out;
}

}  // namespace

TEST(NmeaChecksum, KnownSentences) {
    // From the NMEA 0183 examples everyone quotes (gpsd's test logs too).
    EXPECT_TRUE(parse_sentence("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47"));
    EXPECT_TRUE(parse_sentence("$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A"));
    auto bad = parse_sentence("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*48");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().what, "GPGGA: bad checksum 48, computed 47");
    SentenceFault why{};
    EXPECT_FALSE(parse_sentence("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,", &why));
    EXPECT_EQ(why, SentenceFault::no_checksum);
    EXPECT_FALSE(parse_sentence("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*4", &why));
    EXPECT_EQ(why, SentenceFault::no_checksum);
    EXPECT_FALSE(parse_sentence("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*4G", &why));
    EXPECT_EQ(why, SentenceFault::no_checksum);
}

TEST(NmeaSentence, GgaFields) {
    auto s = parse_sentence("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47");
    ASSERT_TRUE(s) << s.error().what;
    EXPECT_EQ(s->talker, "GP");
    EXPECT_EQ(s->type, "GGA");
    EXPECT_EQ(s->time, (NmeaTime{12, 35, 19, 0}));
    EXPECT_NEAR(*s->latitude, 48 + 7.038 / 60, 1e-12);
    EXPECT_NEAR(*s->longitude, 11 + 31.0 / 60, 1e-12);
    EXPECT_EQ(s->quality, 1);
    EXPECT_EQ(s->satellites, 8);
    EXPECT_DOUBLE_EQ(*s->hdop, 0.9);
    EXPECT_DOUBLE_EQ(*s->altitude, 545.4);
    EXPECT_EQ(s->valid, true);
    EXPECT_FALSE(s->date);
    auto south = parse_sentence(nmea("GNGGA,000001.25,3351.000,S,15112.000,W,2,12,1.0,10.0,M,,M,,"));
    ASSERT_TRUE(south) << south.error().what;
    EXPECT_LT(*south->latitude, 0);
    EXPECT_LT(*south->longitude, 0);
    EXPECT_EQ(south->time->nanos, 250'000'000);
    auto nofix = parse_sentence(nmea("GPGGA,,,,,,0,00,99.99,,,,,,"));
    ASSERT_TRUE(nofix) << nofix.error().what;
    EXPECT_FALSE(nofix->time);
    EXPECT_EQ(nofix->valid, false);
}

TEST(NmeaSentence, RmcFields) {
    auto s = parse_sentence("$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A");
    ASSERT_TRUE(s) << s.error().what;
    EXPECT_EQ(s->date, (NmeaDate{1994, 3, 23}));
    EXPECT_EQ(s->status, 'A');
    EXPECT_EQ(s->valid, true);
    auto v = parse_sentence(nmea("GPRMC,123519.00,V,,,,,,,230326,,,N"));
    ASSERT_TRUE(v) << v.error().what;
    EXPECT_EQ(v->valid, false);
    EXPECT_EQ(v->date, (NmeaDate{2026, 3, 23}));
    // status A but mode N (NMEA 2.3): not a fix
    auto n = parse_sentence(nmea("GPRMC,123519.00,A,4807.038,N,01131.000,E,0,0,230326,,,N"));
    ASSERT_TRUE(n);
    EXPECT_EQ(n->valid, false);
}

TEST(NmeaSentence, ZdaAndGns) {
    auto z = parse_sentence(nmea("GPZDA,235960.00,31,12,2016,00,00"));
    ASSERT_TRUE(z) << z.error().what;
    EXPECT_EQ(z->time, (NmeaTime{23, 59, 60, 0}));  // a leap second is a time, not an error
    EXPECT_EQ(z->date, (NmeaDate{2016, 12, 31}));
    EXPECT_FALSE(z->valid);
    auto g = parse_sentence(nmea("GNGNS,014035.00,4332.69262,S,17235.48549,E,RR,13,0.9,25.63,11.24,,"));
    ASSERT_TRUE(g) << g.error().what;
    EXPECT_EQ(g->type, "GNS");
    EXPECT_EQ(g->mode, "RR");
    EXPECT_EQ(g->valid, true);
    EXPECT_EQ(g->satellites, 13);
    auto none = parse_sentence(nmea("GNGNS,014035.00,,,,,NN,00,,,,,"));
    ASSERT_TRUE(none) << none.error().what;
    EXPECT_EQ(none->valid, false);
}

TEST(NmeaSentence, AnyTalker) {
    for (const char* t : {"GP", "GN", "GL", "GA", "BD", "GB", "GQ"}) {
        auto s = parse_sentence(nmea(std::string(t) + "ZDA,120000.00,01,03,2026,00,00"));
        ASSERT_TRUE(s) << t;
        EXPECT_EQ(s->talker, t);
    }
    SentenceFault why{};
    EXPECT_FALSE(parse_sentence(nmea("GPGSV,3,1,11,03,03,111,00"), &why));
    EXPECT_EQ(why, SentenceFault::unknown_type);
    EXPECT_FALSE(parse_sentence(nmea("PGRMZ,246,f,3"), &why));
    EXPECT_EQ(why, SentenceFault::unknown_type);
}

TEST(NmeaSentence, BadFieldsNamed) {
    struct Case {
        std::string body, error;
    };
    std::vector<Case> cases = {
        {"GPGGA,1235x9,4807.038,N,01131.000,E,1,08,0.9,545.4,M,,M,,", "GPGGA: time: \"1235x9\" is not valid"},
        {"GPGGA,246000,4807.038,N,01131.000,E,1,08,0.9,545.4,M,,M,,", "GPGGA: time: \"246000\" is not valid"},
        {"GPGGA,123519,4807.038,X,01131.000,E,1,08,0.9,545.4,M,,M,,", "GPGGA: latitude: \"4807.038,X\" is not valid"},
        {"GPGGA,123519,9107.038,N,01131.000,E,1,08,0.9,545.4,M,,M,,", "GPGGA: latitude: \"9107.038\" is not valid"},
        {"GPGGA,123519,4807.038,N,01131.000,E,9,08,0.9,545.4,M,,M,,", "GPGGA: quality: \"9\" is not valid"},
        {"GPGGA,123519,4807.038,N,01131.000,E,1,08,1e3,545.4,M,,M,,", "GPGGA: hdop: \"1e3\" is not valid"},
        {"GPRMC,123519,A,4807.038,N,01131.000,E,0,0,310226,,,A", "GPRMC: date: \"310226\" is not valid"},
        {"GPRMC,123519,Q,4807.038,N,01131.000,E,0,0,230326,,,A", "GPRMC: status: \"Q\" is not valid"},
        {"GPZDA,120000.00,29,02,2025,00,00", "GPZDA: date: \"29,02,2025\" is not valid"},
    };
    for (const auto& c : cases) {
        SentenceFault why{};
        auto s = parse_sentence(nmea(c.body), &why);
        ASSERT_FALSE(s) << c.body;
        EXPECT_EQ(s.error().what, c.error);
        EXPECT_EQ(why, SentenceFault::bad_field);
    }
    EXPECT_TRUE(parse_sentence(nmea("GPZDA,120000.00,29,02,2024,00,00")));  // a leap year
}

TEST(NmeaSplitter, LinesAndStamps) {
    SentenceSplitter s;
    auto a = split_all(s, "$GPZDA,1*00\r\n$GPG", 100);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0], (std::pair<std::string, UnixNanos>{"$GPZDA,1*00", 100}));
    // the sentence started in the read at 100 keeps that stamp
    auto b = split_all(s, "GA,2*00\n", 200);
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0], (std::pair<std::string, UnixNanos>{"$GPGGA,2*00", 100}));
    EXPECT_EQ(s.garbage_bytes(), 0u);
}

TEST(NmeaSplitter, LongLinesRefused) {
    SentenceSplitter s;
    std::string ok = "$" + std::string(kMaxSentence - 1, 'A');
    std::string too_long = "$" + std::string(kMaxSentence, 'B');
    auto out = split_all(s, ok + "\r\n" + too_long + "\r\n$GPZDA*00\r\n", 1);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].first, ok);
    EXPECT_EQ(out[1].first, "$GPZDA*00");
    EXPECT_EQ(s.too_long(), 1u);
}

TEST(NmeaSplitter, GarbageAndCutLinesKeepSync) {
    std::mt19937_64 rng(test::test_seed("NmeaSplitter"));
    std::string good = nmea("GPZDA,120000.00,01,03,2026,00,00");
    for (int round = 0; round < 200; ++round) {
        std::string bytes;
        int expected = 0;
        for (int k = 0; k < 10; ++k) {
            switch (rng() % 4) {
            case 0:  // noise without '$'
                for (int n = static_cast<int>(rng() % 40); n > 0; --n) {
                    char c = static_cast<char>(rng() % 256);
                    bytes += c == '$' ? '#' : c;
                }
                bytes += "\r\n";
                break;
            case 1:  // a sentence cut short, then the next one
                bytes += good.substr(0, rng() % good.size());
                break;
            default:
                bytes += good + "\r\n";
                ++expected;
            }
        }
        bytes += good + "\r\n";
        ++expected;
        SentenceSplitter s;
        int got = 0;
        // any split into reads gives the same sentences
        std::size_t at = 0;
        while (at < bytes.size()) {
            std::size_t n = 1 + rng() % 64;
            s.feed(std::as_bytes(std::span(bytes.data() + at, std::min(n, bytes.size() - at))), 0,
                   [&](std::string_view line, UnixNanos) {
                       if (parse_sentence(line)) ++got;
                   });
            at += n;
        }
        ASSERT_EQ(got, expected) << "round " << round;
    }
}

TEST(NmeaCalendar, DaysRoundTrip) {
    EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
    EXPECT_EQ(days_from_civil(1980, 1, 6), 3657);  // GPS epoch
    EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
    for (std::int64_t d = -1000; d < 40000; d += 7) {
        auto c = civil_from_days(d);
        EXPECT_EQ(days_from_civil(c.year, c.month, c.day), d);
    }
    EXPECT_EQ(iso8601_utc({2016, 12, 31}, {23, 59, 60, 123'456'789}), "2016-12-31T23:59:60.123Z");
}
