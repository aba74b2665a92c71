// The HTTP/1.1 server session without sockets: requests in, exact responses out; what the session
// answers by itself (400, 405, 408, 413, 429, 431), keep-alive and pipelining split at every byte,
// HEAD, Connection: close, and the upgrade hook handing the bytes after a 101 on.
#include "libtime/http/server_session.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/test_support.hpp"

namespace timepipe::http {
namespace {

using timepipe::test::bytes;
using timepipe::test::text;

// Echoes the method and the target; /close asks to close; /missing is 404.
Response echo(const Request& r) {
    if (r.path() == "/missing") return Response::error(404, "no " + r.target);
    if (r.path() == "/soft") return Response{404, {}, "not here\n", false};  // a 404 that keeps the connection
    Response out = Response::text(200, r.method + " " + r.target + " host=" + r.header("HOST") + " body=" + r.body + "\n");
    out.close = r.path() == "/close";
    return out;
}

// A session answering with echo().
struct EchoSession {
    ServerSession session;
    explicit EchoSession(ServerConfig c = {}, ServerSession::UpgradeHook hook = {})
        : session(std::move(c), echo, 0, std::move(hook)) {}
    std::string exchange(const std::string& in, std::int64_t now = 0) {
        session.feed(bytes(in), now);
        return text(session.take_output());
    }
};

std::string ok(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
}

TEST(HttpServerSession, AnswersExactlyAndKeepsAlive) {
    EchoSession f;
    EXPECT_EQ(f.exchange("GET /metrics?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"), ok("GET /metrics?x=1 host=h body=\n"));
    EXPECT_FALSE(f.session.done());
    EXPECT_EQ(f.exchange("GET / HTTP/1.1\r\nHost: i\r\n\r\n"), ok("GET / host=i body=\n"));
    EXPECT_EQ(f.session.counters().requests, 2u);
}

TEST(HttpServerSession, HeadHasTheHeadersWithoutTheBody) {
    EchoSession f;
    const std::string head = f.exchange("HEAD /a HTTP/1.1\r\nHost: h\r\n\r\n");
    const std::string body = "HEAD /a host=h body=\n";
    EXPECT_EQ(head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n");
}

TEST(HttpServerSession, PipelinedRequestsSplitAtEveryByteAnswerInOrder) {
    const std::string in = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /2 HTTP/1.1\r\n\r\n"
                           "GET /3 HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
                           "GET /close HTTP/1.1\r\n\r\nGET /never HTTP/1.1\r\n\r\n";
    EchoSession whole;
    const std::string expect = whole.exchange(in);
    EXPECT_LT(expect.find("GET /1"), expect.find("GET /3 host= body=xyz"));
    EXPECT_NE(expect.find("GET /close host= body=\n"), std::string::npos);
    EXPECT_EQ(expect.find("/never"), std::string::npos);  // nothing after Connection: close
    EXPECT_NE(expect.find("Connection: close\r\n\r\nGET /close"), std::string::npos);
    EXPECT_TRUE(whole.session.done());
    for (std::size_t cut = 1; cut < in.size(); ++cut) {
        EchoSession f;
        std::string out = f.exchange(in.substr(0, cut));
        out += f.exchange(in.substr(cut));
        EXPECT_EQ(out, expect) << "split at " << cut;
    }
}

TEST(HttpServerSession, ConnectionCloseAndHttp10) {
    EchoSession f;
    EXPECT_EQ(f.exchange("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"),
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 18\r\n"
              "Connection: close\r\n\r\nGET / host= body=\n");
    EXPECT_TRUE(f.session.done());
    EXPECT_EQ(f.session.why(), "Connection: close");
    EchoSession old;
    EXPECT_NE(old.exchange("GET / HTTP/1.0\r\n\r\n").find("Connection: close\r\n"), std::string::npos);
    EXPECT_TRUE(old.session.done());
}

TEST(HttpServerSession, HandlerErrorsClose) {
    EchoSession f;
    EXPECT_EQ(f.exchange("GET /missing HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
              "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 12\r\n"
              "Connection: close\r\n\r\nno /missing\n");
    EXPECT_TRUE(f.session.done());
    EXPECT_EQ(f.session.why(), "404 no /missing");
}

TEST(HttpServerSession, AHandlers4xxWithoutCloseKeepsTheConnection) {
    EchoSession f;
    EXPECT_EQ(f.exchange("GET /soft HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
              "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here\n" + ok("GET / host= body=\n"));
    EXPECT_FALSE(f.session.done());
}

TEST(HttpServerSession, MethodNotAllowed405) {
    EchoSession f;
    EXPECT_EQ(f.exchange("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
              "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: 18\r\nConnection: close\r\n\r\nonly GET and HEAD\n");
    EXPECT_EQ(f.session.counters().bad_requests, 1u);
    EchoSession post(ServerConfig{.methods = {"GET", "HEAD", "POST"}});
    EXPECT_EQ(post.exchange("POST /p HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi"), ok("POST /p host= body=hi\n"));
}

TEST(HttpServerSession, Malformed400AndNothingAfter) {
    EchoSession f;
    const std::string out = f.exchange("\x01\x02 nonsense\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
    EXPECT_EQ(out.find("200 OK"), std::string::npos);
    EXPECT_TRUE(f.session.done());
    EXPECT_EQ(f.exchange("GET / HTTP/1.1\r\n\r\n"), "");  // done: nothing more
}

TEST(HttpServerSession, HeadersOverTheLimit431BodyOver413) {
    EchoSession f(ServerConfig{.max_header_bytes = 100});
    EXPECT_EQ(f.exchange("GET / HTTP/1.1\r\nX: " + std::string(200, 'a')).rfind("HTTP/1.1 431 ", 0), 0u);
    EXPECT_TRUE(f.session.done());
    EchoSession b(ServerConfig{.max_body_bytes = 4, .methods = {"POST"}});
    EXPECT_EQ(b.exchange("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde").rfind("HTTP/1.1 413 ", 0), 0u);
    EXPECT_EQ(b.session.counters().body_too_large, 1u);
}

TEST(HttpServerSession, TheHeaderLimitFallsOnTheSameByteHoweverSplit) {
    // Exactly max_header_bytes from the request's first byte to its blank line pass; one more is 431,
    // and an invalid byte before the limit is 400 whichever way the input is cut.
    const std::string fits = "GET / HTTP/1.1\r\nX: " + std::string(100 - 23, 'a') + "\r\n\r\n";
    ASSERT_EQ(fits.size(), 100u);
    const std::string over = "GET / HTTP/1.1\r\nX: " + std::string(100 - 22, 'a') + "\r\n\r\n";
    const std::string bad = "GET / HTTP/1.1\r\nX: " + std::string(60, 'a') + "\r\nY\x01: " + std::string(60, 'b') + "\r\n\r\n";
    for (const auto& [in, status] : {std::pair{fits, "200"}, std::pair{over, "431"}, std::pair{bad, "400"}})
        for (std::size_t cut = 0; cut <= in.size(); ++cut) {
            EchoSession f(ServerConfig{.max_header_bytes = 100});
            std::string out = f.exchange(in.substr(0, cut));
            out += f.exchange(in.substr(cut));
            EXPECT_EQ(out.substr(0, 12), std::string("HTTP/1.1 ") + status) << "split at " << cut;
        }
}

TEST(HttpServerSession, SlowHeaders408IdleDrops) {
    EchoSession f(ServerConfig{.header_timeout_ns = 2 * kNanosPerSecond, .idle_timeout_ns = 60 * kNanosPerSecond});
    f.exchange("GET / HTTP/1.1\r\nHo", 0);
    EXPECT_FALSE(f.session.expired(kNanosPerSecond));
    f.exchange("st: h\r\n", kNanosPerSecond);  // trickling does not reset the header clock
    EXPECT_FALSE(f.session.expired(2 * kNanosPerSecond + 1));
    EXPECT_TRUE(f.session.has_output());
    EXPECT_EQ(text(f.session.take_output()).rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u);
    EXPECT_TRUE(f.session.done());
    EchoSession idle(ServerConfig{.idle_timeout_ns = 60 * kNanosPerSecond});
    idle.exchange("GET / HTTP/1.1\r\n\r\n", 0);
    EXPECT_FALSE(idle.session.expired(60 * kNanosPerSecond));
    EXPECT_TRUE(idle.session.expired(60 * kNanosPerSecond + 1));
    EXPECT_EQ(idle.session.counters().timeouts, 1u);
}

TEST(HttpServerSession, RateLimit429) {
    EchoSession f(ServerConfig{.max_rate = 3});
    std::string in;
    for (int i = 0; i < 5; ++i) in += "GET / HTTP/1.1\r\n\r\n";
    const std::string out = f.exchange(in, 5 * kNanosPerSecond);
    EXPECT_NE(out.find("HTTP/1.1 429 Too Many Requests\r\n"), std::string::npos);
    std::size_t oks = 0;
    for (auto at = out.find("200 OK"); at != std::string::npos; at = out.find("200 OK", at + 1)) ++oks;
    EXPECT_EQ(oks, 3u);
    EXPECT_EQ(f.session.counters().rate_limited, 1u);
}

TEST(HttpServerSession, UpgradeHookTakesOverWithTheBytesAfter) {
    std::string seen;
    EchoSession f({}, [&](const Request& r) -> std::optional<Response> {
        seen = r.header("upgrade");
        if (seen != "chat") return std::nullopt;
        return Response{101, {{"Upgrade", "chat"}, {"Connection", "Upgrade"}}, {}, false};
    });
    EXPECT_EQ(f.exchange("GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: chat\r\n\r\nhello"),
              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: chat\r\nConnection: Upgrade\r\n\r\n");
    EXPECT_TRUE(f.session.upgraded());
    EXPECT_FALSE(f.session.done());
    EXPECT_EQ(text(f.session.take_leftover()), "hello");
    // An upgrade the hook declines is an ordinary request, and the connection goes on as HTTP.
    EchoSession g({}, [&](const Request&) -> std::optional<Response> { return std::nullopt; });
    const std::string out = g.exchange("GET /a HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
    EXPECT_EQ(out, ok("GET /a host= body=\n") + ok("GET /b host= body=\n"));
    // No hook: the same.
    EchoSession h;
    EXPECT_EQ(h.exchange("GET /a HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nGET /b HTTP/1.1\r\n\r\n"), out);
}

TEST(HttpServerSession, ClientBytesNeverSplitOurLines) {
    EXPECT_EQ(Response::error(400, "a\r\nb").body, "a  b\n");
}

TEST(HttpServerSession, HeaderLookupIsCaseInsensitiveAndListsJoin) {
    Request r;
    r.headers = {{"Accept", "a"}, {"X-List", "1"}, {"x-list", "2"}};
    EXPECT_EQ(r.header("accept"), "a");
    EXPECT_EQ(r.header_list("X-LIST"), "1,2");
    EXPECT_EQ(r.header("none"), "");
    r.target = "/metrics?name=x";
    EXPECT_EQ(r.path(), "/metrics");
}

}  // namespace
}  // namespace timepipe::http
