// libtime/http/client_http and client_websocket: URLs, the requests, llhttp's response parsing
// (in pieces, chunked, EOF-delimited, limits, 101 with frames behind it), the RFC 6455 accept
// value, go-webntp's averaging rule, and the WebSocket handshake checks.
#include "libtime/http/client_http.hpp"
#include "libtime/http/client_websocket.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace timepipe;
using namespace timepipe::http;

namespace {

TEST(WebNtpClientUrl, ParsesSchemesHostsPortsTargets) {
    auto u = parse_web_url("https://time.example.net/json");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->scheme, "https");
    EXPECT_EQ(u->host, "time.example.net");
    EXPECT_EQ(u->port, 443);
    EXPECT_EQ(u->target, "/json");
    EXPECT_TRUE(u->tls());
    EXPECT_FALSE(u->websocket());
    EXPECT_EQ(u->host_header(), "time.example.net");
    u = parse_web_url("ws://[::1]:8080");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->host, "::1");
    EXPECT_EQ(u->port, 8080);
    EXPECT_EQ(u->target, "/");
    EXPECT_EQ(u->host_header(), "[::1]:8080");
    EXPECT_EQ(u->text(), "ws://[::1]:8080/");
    u = parse_web_url("HTTP://127.0.0.1?x=1");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->target, "/?x=1");
    EXPECT_EQ(u->port, 80);
    for (const char* bad : {"localhost", "ftp://x/", "http://", "http://:80/", "http://a:0/", "http://a:65536/",
                            "http://a:/", "http://u@a/", "http://a/#f", "http://a b/", "http://a/ b", "http://[::1/",
                            "http://[zz]/"}) {
        auto r = parse_web_url(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().exit_code, EX_USAGE);
    }
}

TEST(WebNtpClientUrl, RequestsCarryTheTimestamp) {
    auto u = parse_web_url("http://example.net:8080/json");
    ASSERT_TRUE(u);
    EXPECT_EQ(get_request(*u, "1700000000.123457"),
              "GET /json?1700000000.123457 HTTP/1.1\r\nHost: example.net:8080\r\nUser-Agent: webntp-query (timepipe)\r\n"
              "Accept: application/json\r\nConnection: keep-alive\r\n\r\n");
    u = parse_web_url("http://example.net/?a=b");
    ASSERT_TRUE(u);
    EXPECT_EQ(get_request(*u, "1").substr(0, 15), "GET /?a=b&1 HTT");
    const std::string ws = websocket_upgrade_request(*u, "dGhlIHNhbXBsZSBub25jZQ==");
    EXPECT_NE(ws.find("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"), std::string::npos);
    EXPECT_NE(ws.find("Sec-WebSocket-Protocol: webntp.shogo82148.com\r\n"), std::string::npos);
}

TEST(WebNtpClientWebSocket, AcceptIsRfc6455s) {
    EXPECT_EQ(expected_websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");  // RFC 6455 §1.3
}

TEST(WebNtpClientResponse, ParsesInAnySplit) {
    const std::string resp =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
    for (std::size_t at = 0; at <= resp.size(); ++at) {
        HttpResponseParser p;
        auto a = p.feed(std::string_view(resp).substr(0, at));
        ASSERT_TRUE(a);
        if (at < resp.size()) {
            EXPECT_FALSE(*a);
            auto b = p.feed(std::string_view(resp).substr(at));
            ASSERT_TRUE(b);
            EXPECT_TRUE(*b);
        }
        EXPECT_EQ(p.status(), 200);
        EXPECT_EQ(p.header("CONTENT-TYPE"), "application/json");
        EXPECT_EQ(p.body(), "{\"a\":1}");
        EXPECT_TRUE(p.keep_alive());
        EXPECT_EQ(p.leftover(), "");
    }
}

TEST(WebNtpClientResponse, ChunkedEofDelimitedAndPipelined) {
    HttpResponseParser p;
    auto r = p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nHTTP/1.1 204");
    ASSERT_TRUE(r);
    EXPECT_TRUE(*r);
    EXPECT_EQ(p.body(), "abcde");
    EXPECT_EQ(p.leftover(), "HTTP/1.1 204");
    p.reset();
    r = p.feed("HTTP/1.0 200 OK\r\n\r\nbody until EOF");
    ASSERT_TRUE(r);
    EXPECT_FALSE(*r);
    r = p.finish();
    ASSERT_TRUE(r);
    EXPECT_EQ(p.body(), "body until EOF");
    EXPECT_FALSE(p.keep_alive());
    p.reset();
    r = p.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
    ASSERT_TRUE(r);
    auto f = p.finish();
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().what, "HTTP response: connection closed before the response was complete");
}

TEST(WebNtpClientResponse, RefusesGarbageAndOversize) {
    HttpResponseParser p;
    auto r = p.feed("SSH-2.0-OpenSSH\r\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().exit_code, EX_PROTOCOL);
    EXPECT_EQ(r.error().what.rfind("HTTP response: ", 0), 0u);
    p.reset();
    r = p.feed("HTTP/1.1 200 OK\r\nX: " + std::string(17000, 'a') + "\r\n\r\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "HTTP response: header larger than 16 KiB");
    p.reset();
    r = p.feed("HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n" + std::string(70000, 'x'));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "HTTP response: body larger than 64 KiB");
}

TEST(WebNtpClientAverage, DropsTwiceTheMinimumDelayAndAverages) {
    // offset = st - (t_send + t_recv) / 2, delay = t_recv - t_send
    EXPECT_EQ(measure(1000, 3000, 2500), (WebNtpSample{500, 2000}));
    EXPECT_EQ(measure(1'700'000'000'000'000'001, 1'700'000'000'000'000'004, 1'700'000'002'500'000'000),
              (WebNtpSample{2'499'999'998, 3}));
    std::size_t kept = 0;
    const std::vector<WebNtpSample> s{{100, 10}, {300, 19}, {900, 20}, {200, 30}};
    auto avg = combine_samples(s, &kept);  // 20 and 30 are >= 2 x 10
    ASSERT_TRUE(avg);
    EXPECT_EQ(kept, 2u);
    EXPECT_EQ(*avg, (WebNtpSample{200, 14}));
    EXPECT_FALSE(combine_samples({}, &kept));
    EXPECT_EQ(kept, 0u);
    const std::vector<WebNtpSample> one{{-7, 5}};
    EXPECT_EQ(*combine_samples(one), (WebNtpSample{-7, 5}));
}

// The server side of a handshake, written by hand from RFC 6455 §4.2.2.
std::string server_answer(const std::string& request, const std::string& extra = "") {
    const auto at = request.find("Sec-WebSocket-Key: ") + 19;
    const std::string key = request.substr(at, request.find("\r\n", at) - at);
    return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
           expected_websocket_accept(key) + "\r\n" + extra + "\r\n";
}

TEST(WebNtpClientWebSocket, HandshakeFramesAndMasking) {
    auto u = parse_web_url("ws://127.0.0.1:8080/");
    ASSERT_TRUE(u);
    WebSocketClient ws;
    const std::string req = ws.handshake_request(*u);
    // An unmasked text frame "hi" right behind the head.
    auto done = ws.feed_handshake(server_answer(req, "Sec-WebSocket-Protocol: webntp.shogo82148.com\r\n") +
                                  std::string("\x81\x02hi", 4));
    ASSERT_TRUE(done) << done.error().what;
    EXPECT_TRUE(*done);
    auto m = ws.next_message();
    ASSERT_TRUE(m);
    ASSERT_TRUE(*m);
    EXPECT_EQ(**m, "hi");
    auto out = ws.message("1700000000.123457");
    ASSERT_TRUE(out);
    ASSERT_EQ(out->size(), 2u + 4u + 17u);
    EXPECT_EQ(static_cast<unsigned char>((*out)[0]), 0x81);           // FIN, text
    EXPECT_EQ(static_cast<unsigned char>((*out)[1]), 0x80 | 17);      // masked, 17 bytes
    std::string unmasked;
    for (std::size_t i = 0; i < 17; ++i) unmasked += static_cast<char>((*out)[6 + i] ^ (*out)[2 + i % 4]);
    EXPECT_EQ(unmasked, "1700000000.123457");
    // A close frame with status 1009: an error naming it, and our close reply goes out.
    ASSERT_TRUE(ws.feed(std::string("\x88\x02\x03\xf1", 4)));
    auto c = ws.next_message();
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().what, "WebSocket closed by the server, status 1009");
    EXPECT_FALSE(ws.take_output().empty());
}

TEST(WebNtpClientWebSocket, RefusesBadHandshakesAndFrames) {
    auto u = parse_web_url("ws://127.0.0.1:8080/");
    ASSERT_TRUE(u);
    {
        WebSocketClient ws;
        (void)ws.handshake_request(*u);
        auto r = ws.feed_handshake(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().what, "WebSocket handshake: Sec-WebSocket-Accept does not match the key");
    }
    {
        WebSocketClient ws;
        (void)ws.handshake_request(*u);
        auto r = ws.feed_handshake("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().what, "WebSocket handshake: HTTP status 200, not 101");
    }
    {
        WebSocketClient ws;
        const std::string req = ws.handshake_request(*u);
        auto r = ws.feed_handshake(server_answer(req, "Sec-WebSocket-Protocol: chat\r\n"));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().what, "WebSocket handshake: the server chose subprotocol \"chat\"");
    }
    {
        WebSocketClient ws;
        const std::string req = ws.handshake_request(*u);
        ASSERT_TRUE(ws.feed_handshake(server_answer(req)));
        // A 2 GB declared length: refused with its first payload byte (wslay reports a frame's
        // start only then), never buffered.
        auto r = ws.feed(std::string("\x81\x7f\x00\x00\x00\x00\x80\x00\x00\x00x", 11));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().what.rfind("WebSocket: invalid frame from the server", 0), 0u) << r.error().what;
    }
    {
        WebSocketClient ws;
        const std::string req = ws.handshake_request(*u);
        ASSERT_TRUE(ws.feed_handshake(server_answer(req)));
        // A masked frame from a server is a protocol error (RFC 6455 §5.1).
        auto r = ws.feed(std::string("\x81\x82\x01\x02\x03\x04\x69\x6b", 8));
        EXPECT_FALSE(r);
    }
}

}  // namespace
