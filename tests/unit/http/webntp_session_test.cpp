// webntp-serve's protocol without sockets: HTTP requests in, exact replies out; the WebSocket
// handshake (RFC 6455's sample key), frames fed from memory; limits; leap fields.
#include "libtime/http/webntp_session.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "libtime/discipline/leap_file.hpp"
#include "libtime/http/leap_info.hpp"
#include "tests/unit/test_support.hpp"

namespace timepipe::http {
namespace {

constexpr UnixNanos kNow = 1700000000'250000000;
const LeapInfo kLeap{36, 1483228800 * kNanosPerSecond, 1};

using timepipe::test::bytes;
using timepipe::test::text;

struct Fixture {
    SessionConfig config;
    bool synchronised = true;
    WebNtpSession session;
    explicit Fixture(SessionConfig c = {})
        : config(c), session(config, [this] { return ServedTime{synchronised, kNow, kLeap}; }, 0) {}
    std::string exchange(const std::string& in, std::int64_t now = 0) {
        session.feed(bytes(in), now);
        return text(session.take_output());
    }
};

const std::string kJson1 =
    R"({"id":"h","it":1.000000,"st":1700000000.250000,"time":1700000000.250000,"leap":36,"next":1483228800.000000,"step":1})";

TEST(HttpSession, GetAnswersTheJsonLineExactly) {
    Fixture f;
    EXPECT_EQ(f.exchange("GET /json?1 HTTP/1.1\r\nHost: h\r\n\r\n"),
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-cache, no-store\r\n"
              "Content-Length: " + std::to_string(kJson1.size()) + "\r\n\r\n" + kJson1);
    EXPECT_FALSE(f.session.done());
    EXPECT_EQ(f.session.counters().http_json, 1u);
}

TEST(HttpSession, RoundingCarryAndSevenDigits) {
    Fixture f;
    EXPECT_NE(f.exchange("GET /?1.9999996 HTTP/1.1\r\nHost: h\r\n\r\n").find(R"("it":2.000000,)"), std::string::npos);
    EXPECT_NE(f.exchange("GET /?1700000000.1234567 HTTP/1.1\r\nHost: h\r\n\r\n").find(R"("it":1700000000.123457,)"),
              std::string::npos);
}

TEST(HttpSession, PipelinedRequestsSplitAnywhereAnswerInOrder) {
    const std::string in = "GET /?1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.1\r\nHost: b\r\n\r\nGET /?3 HTTP/1.1\r\nHost: c\r\n\r\n";
    Fixture whole;
    const std::string expect = whole.exchange(in);
    ASSERT_NE(expect.find(R"("id":"c","it":3.000000)"), std::string::npos);
    EXPECT_LT(expect.find(R"("id":"a")"), expect.find("204 No Content"));
    EXPECT_LT(expect.find("204 No Content"), expect.find(R"("id":"c")"));
    for (std::size_t cut = 1; cut < in.size(); ++cut) {
        Fixture f;
        std::string out = f.exchange(in.substr(0, cut));
        out += f.exchange(in.substr(cut));
        EXPECT_EQ(out, expect) << "split at " << cut;
    }
}

TEST(HttpSession, HeadIs204WithXHttpsTime) {
    Fixture f;
    EXPECT_EQ(f.exchange("HEAD /.well-known/time HTTP/1.1\r\nHost: h\r\n\r\n"),
              "HTTP/1.1 204 No Content\r\nX-HTTPSTIME: 1700000000.250000\r\nCache-Control: no-cache, no-store\r\n\r\n");
}

TEST(HttpSession, CorsOnlyWhenAllowed) {
    Fixture plain;
    EXPECT_EQ(plain.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n").find("Access-Control"), std::string::npos);
    Fixture cors(SessionConfig{.allow_cross_origin = true});
    EXPECT_NE(cors.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n").find("Access-Control-Allow-Origin: *\r\n"), std::string::npos);
    Fixture cors2(SessionConfig{.allow_cross_origin = true});
    EXPECT_NE(cors2.exchange("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n").find("Access-Control-Allow-Origin: *\r\n"), std::string::npos);
}

TEST(HttpSession, ErrorsCloseTheConnection) {
    Fixture bad_query;
    auto out = bad_query.exchange("GET /?12x HTTP/1.1\r\nHost: h\r\n\r\nGET /?1 HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
    EXPECT_EQ(out.find("200 OK"), std::string::npos);  // nothing answered after the error
    EXPECT_TRUE(bad_query.session.done());
    Fixture garbage;
    EXPECT_EQ(garbage.exchange("\x01\x02 nonsense\r\n\r\n").rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
    EXPECT_TRUE(garbage.session.done());
    Fixture post;
    EXPECT_EQ(post.exchange("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
}

TEST(HttpSession, HeadersOverTheLimitAre431) {
    Fixture f;
    const std::string big(9000, 'a');
    EXPECT_EQ(f.exchange("GET / HTTP/1.1\r\nX: " + big).rfind("HTTP/1.1 431 ", 0), 0u);
    EXPECT_TRUE(f.session.done());
    Fixture ok;
    EXPECT_EQ(ok.exchange("GET / HTTP/1.1\r\nX: " + std::string(7000, 'a') + "\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
}

TEST(HttpSession, SlowHeadersTimeOutWith408IdleCloses) {
    Fixture f(SessionConfig{.header_timeout_ns = 2 * kNanosPerSecond, .idle_timeout_ns = 60 * kNanosPerSecond});
    f.exchange("GET / HTTP/1.1\r\nHo", 0);
    EXPECT_FALSE(f.session.expired(kNanosPerSecond));
    f.exchange("st: h\r\n", kNanosPerSecond);  // trickling does not reset the header clock
    EXPECT_FALSE(f.session.expired(2 * kNanosPerSecond + 1));
    EXPECT_EQ(text(f.session.take_output()).rfind("HTTP/1.1 408 ", 0), 0u);
    EXPECT_TRUE(f.session.done());
    Fixture idle;
    idle.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n", 0);
    EXPECT_FALSE(idle.session.expired(60 * kNanosPerSecond));
    EXPECT_TRUE(idle.session.expired(60 * kNanosPerSecond + 1));
}

TEST(HttpSession, RateLimit429) {
    Fixture f(SessionConfig{.max_rate = 2});
    std::string in;
    for (int i = 0; i < 3; ++i) in += "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    auto out = f.exchange(in);
    EXPECT_NE(out.find("HTTP/1.1 429 Too Many Requests"), std::string::npos);
    EXPECT_TRUE(f.session.done());
}

TEST(HttpSession, UnsynchronisedIs503) {
    Fixture f;
    f.synchronised = false;
    EXPECT_EQ(f.exchange("GET / HTTP/1.1\r\nHost: h\r\n\r\n").rfind("HTTP/1.1 503 ", 0), 0u);
}

TEST(WebSocketSession, AcceptKeyFromRfc6455) { EXPECT_EQ(websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); }

TEST(WebSocketSession, SameOriginAsGorilla) {
    EXPECT_TRUE(same_origin("http://example.net", "example.net"));
    EXPECT_TRUE(same_origin("https://Example.NET:8443", "example.net:8443"));
    EXPECT_FALSE(same_origin("http://example.net", "example.net:8080"));
    EXPECT_FALSE(same_origin("http://evil.example", "example.net"));
    EXPECT_FALSE(same_origin("null", "example.net"));
}

TEST(WebSocketSession, Utf8) {
    auto v = [](const std::string& s) { return valid_utf8(bytes(s)); };
    EXPECT_TRUE(v("1.5 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    EXPECT_FALSE(v("\xff"));
    EXPECT_FALSE(v("\xc0\xaf"));          // overlong
    EXPECT_FALSE(v("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(v("\xf4\x90\x80\x80"));  // over U+10FFFF
    EXPECT_FALSE(v("\xe2\x82"));          // cut short
}

std::string masked_frame(std::uint8_t opcode, const std::string& payload) {
    std::string f;
    f += static_cast<char>(0x80 | opcode);
    const std::uint8_t mask[4] = {1, 2, 3, 4};
    if (payload.size() < 126) {
        f += static_cast<char>(0x80 | payload.size());
    } else {
        f += static_cast<char>(0x80 | 126);
        f += static_cast<char>(payload.size() >> 8);
        f += static_cast<char>(payload.size() & 0xff);
    }
    for (auto m : mask) f += static_cast<char>(m);
    for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
    return f;
}

const std::string kUpgrade =
    "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

TEST(WebSocketSession, UpgradeAndOneMessageInTheSameBytes) {
    Fixture f;
    auto out = f.exchange(kUpgrade + "Sec-WebSocket-Protocol: chat, webntp.shogo82148.com\r\n\r\n" + masked_frame(1, "1"));
    const std::string head =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: webntp.shogo82148.com\r\n\r\n";
    ASSERT_EQ(out.substr(0, head.size()), head);
    const std::string frame = out.substr(head.size());
    ASSERT_EQ(frame.size(), 2 + kJson1.size());
    EXPECT_EQ(static_cast<unsigned char>(frame[0]), 0x81);  // FIN, text, unmasked
    EXPECT_EQ(frame.substr(2), kJson1);
    EXPECT_TRUE(f.session.websocket());
    EXPECT_EQ(f.session.counters().ws_messages, 1u);
}

TEST(WebSocketSession, WithoutSubprotocolAndBinary) {
    Fixture f;
    auto out = f.exchange(kUpgrade + "\r\n");
    EXPECT_EQ(out.find("Sec-WebSocket-Protocol"), std::string::npos);
    out = f.exchange(masked_frame(2, "1"));
    EXPECT_EQ(out.substr(2), kJson1);
}

std::uint16_t close_code(const std::string& out) {
    if (out.size() < 4 || (static_cast<unsigned char>(out[0]) & 0x0f) != 8) return 0;
    return static_cast<std::uint16_t>(static_cast<unsigned char>(out[2]) << 8 | static_cast<unsigned char>(out[3]));
}

TEST(WebSocketSession, ClosesWithCodes) {
    {
        Fixture f;
        f.exchange(kUpgrade + "\r\n");
        EXPECT_EQ(close_code(f.exchange(masked_frame(1, std::string(1025, '1')))), 1009);
    }
    {
        Fixture f;
        f.exchange(kUpgrade + "\r\n");
        // 2 GiB declared: refused with the first bytes of payload, nothing buffered
        std::string hdr = "\x81\xff";
        hdr += std::string("\x00\x00\x00\x00\x80\x00\x00\x00", 8);
        hdr += "\x01\x02\x03\x04" "0000";
        EXPECT_EQ(close_code(f.exchange(hdr)), 1009);
    }
    {
        Fixture f;
        f.exchange(kUpgrade + "\r\n");
        EXPECT_EQ(close_code(f.exchange(masked_frame(1, "1.5\xff"))), 1007);
    }
    {
        Fixture f;
        f.exchange(kUpgrade + "\r\n");
        auto out = f.exchange(masked_frame(1, "noon"));
        EXPECT_EQ(close_code(out), 1007);
        EXPECT_NE(out.find("not a timestamp"), std::string::npos);
        // the client's close completes the closing handshake
        f.exchange(masked_frame(8, "\x03\xe8"));
        EXPECT_TRUE(f.session.done());
    }
}

TEST(WebSocketSession, ForeignOriginRefused) {
    Fixture f;
    EXPECT_EQ(f.exchange(kUpgrade + "Origin: http://evil.example\r\n\r\n").rfind("HTTP/1.1 403 ", 0), 0u);
    Fixture same;
    EXPECT_EQ(same.exchange(kUpgrade + "Origin: https://h\r\n\r\n").rfind("HTTP/1.1 101 ", 0), 0u);
    Fixture any(SessionConfig{.allow_cross_origin = true});
    EXPECT_EQ(any.exchange(kUpgrade + "Origin: http://evil.example\r\n\r\n").rfind("HTTP/1.1 101 ", 0), 0u);
}

TEST(WebSocketSession, IdleCloseThenDone) {
    Fixture f;
    f.exchange(kUpgrade + "\r\n", 0);
    EXPECT_FALSE(f.session.expired(60 * kNanosPerSecond));
    EXPECT_FALSE(f.session.expired(60 * kNanosPerSecond + 1));
    EXPECT_EQ(close_code(text(f.session.take_output())), 1000);
    EXPECT_TRUE(f.session.expired(121 * kNanosPerSecond));
}

std::string leap_list() {
    std::ifstream in("tests/data/leap-seconds.list");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(LeapInfo, FromTheList) {
    auto t = discipline::parse_leap_file(leap_list());
    ASSERT_TRUE(t) << "tests/data/leap-seconds.list (run from the source tree)";
    // Before the 2017 leap second: the next one; after it: the last one (nothing announced).
    auto before = leap_info(*t, 1483228799 * kNanosPerSecond);
    EXPECT_EQ(before.leap, 36);
    EXPECT_EQ(before.next, 1483228800 * kNanosPerSecond);
    EXPECT_EQ(before.step, 1);
    auto after = leap_info(*t, 1700000000 * kNanosPerSecond);
    EXPECT_EQ(after.leap, 36);
    EXPECT_EQ(after.next, 1483228800 * kNanosPerSecond);
    auto y2015 = leap_info(*t, 1420000000 * kNanosPerSecond);  // before 2015-07-01
    EXPECT_EQ(y2015.leap, 35);
    EXPECT_EQ(y2015.next, 1435708800 * kNanosPerSecond);
    // expired: unknown
    auto expired = leap_info(*t, (t->expires - discipline::kNtpToUnixSeconds) * kNanosPerSecond);
    EXPECT_EQ(expired.leap, 0);
    EXPECT_EQ(expired.next, 0);
    EXPECT_EQ(expired.step, 0);
}

}  // namespace
}  // namespace timepipe::http
