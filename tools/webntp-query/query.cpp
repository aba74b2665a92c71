#include "tools/webntp-query/query.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <random>
#include <thread>

#include "libtime/base/host_port.hpp"
#include "libtime/base/log.hpp"
#include "libtime/http/client_websocket.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/resolve.hpp"
#include "libtime/sys/tcp.hpp"
#include "libtime/sys/tls.hpp"

namespace webntp_query {

using namespace timepipe;
using Clock = std::chrono::steady_clock;

namespace {

std::chrono::nanoseconds left(Clock::time_point deadline) {
    return std::max(std::chrono::nanoseconds(0),
                    std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now()));
}

std::int64_t wall_now() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The receive time as the send time plus the monotonic interval: a step of the wall clock during
// the exchange (another tool's doing) must not turn into a delay.
struct Stopwatch {
    std::int64_t wall = wall_now();
    Clock::time_point mono = Clock::now();
    std::int64_t now() const {
        return wall + std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - mono).count();
    }
};

// A byte stream to the server, in plaintext or through TLS.
class Connection {
public:
    static Result<Connection> open(const http::WebUrl& url, const std::optional<TlsContext>& tls_ctx,
                                   Clock::time_point deadline) {
        auto addrs = resolve(HostPort{url.host, url.port}, url.port, Family::any, left(deadline));
        if (!addrs) return Unexpected<Error>{addrs.error()};
        Result<TcpClient> tcp = fail("no address", EX_UNAVAILABLE);
        for (const auto& a : *addrs) {
            tcp = TcpClient::connect(a, left(deadline));
            if (tcp) break;
        }
        if (!tcp) return Unexpected<Error>{tcp.error()};
        Connection c(std::move(*tcp));
        if (tls_ctx) {
            auto s = TlsSession::client(*tls_ctx, url.host);
            if (!s) return Unexpected<Error>{s.error()};
            c.tls_ = std::make_unique<TlsSession>(std::move(*s));
            for (;;) {
                auto done = c.tls_->handshake();
                if (auto f = c.flush(deadline); !f) return Unexpected<Error>{f.error()};
                if (!done) return Unexpected<Error>{done.error()};
                if (*done) break;
                auto p = c.pull(deadline);
                if (!p) return Unexpected<Error>{p.error()};
                if (!*p) return fail("connection closed during the TLS handshake", EX_UNAVAILABLE);
            }
        }
        return c;
    }

    Result<void> send(std::string_view bytes, Clock::time_point deadline) {
        const auto data = std::as_bytes(std::span(bytes.data(), bytes.size()));
        if (!tls_) return tcp_.send_all(data, left(deadline));
        if (auto w = tls_->write(data); !w) return w;
        return flush(deadline);
    }

    // Some plaintext, or "" at the end of the stream.
    Result<std::string> receive(Clock::time_point deadline) {
        std::array<std::byte, 16384> buf;
        for (;;) {
            if (!tls_) {
                auto n = tcp_.receive_some(buf, left(deadline));
                if (!n) return Unexpected<Error>{n.error()};
                return std::string(static_cast<const char*>(static_cast<const void*>(buf.data())), *n);
            }
            auto n = tls_->read(buf);
            if (!n) return Unexpected<Error>{n.error()};
            if (!*n) return std::string();
            if (**n > 0) return std::string(static_cast<const char*>(static_cast<const void*>(buf.data())), **n);
            if (auto f = flush(deadline); !f) return Unexpected<Error>{f.error()};
            auto p = pull(deadline);
            if (!p) return Unexpected<Error>{p.error()};
            if (!*p) return std::string();
        }
    }

private:
    explicit Connection(TcpClient tcp) : tcp_(std::move(tcp)) {}
    Result<void> flush(Clock::time_point deadline) {
        auto out = tls_->take_output();
        if (out.empty()) return {};
        return tcp_.send_all(out, left(deadline));
    }
    Result<bool> pull(Clock::time_point deadline) {
        std::array<std::byte, 16384> buf;
        auto n = tcp_.receive_some(buf, left(deadline));
        if (!n) return Unexpected<Error>{n.error()};
        if (*n == 0) return false;
        tls_->feed(std::span(buf).first(*n));
        return true;
    }
    TcpClient tcp_;
    std::unique_ptr<TlsSession> tls_;
};

struct Answer {
    http::WebNtpReply reply;
    std::int64_t t_send = 0, t_recv = 0;
};

Result<http::WebNtpReply> reply_of(std::string_view body, const char* what) {
    auto r = http::parse_json_line(body);
    if (!r) return fail(std::string(what) + ": " + r.error().what, EX_PROTOCOL);
    return r;
}

// One GET on `conn` (reopened when the server closed it).
Result<Answer> http_exchange(Connection& conn, const http::WebUrl& url, Clock::time_point deadline, bool& reopen) {
    Answer a;
    const Stopwatch sw;
    a.t_send = sw.wall;
    if (auto s = conn.send(http::get_request(url, http::format_timestamp(a.t_send)), deadline); !s)
        return Unexpected<Error>{s.error()};
    http::HttpResponseParser p;
    bool first = true;
    for (;;) {
        auto bytes = conn.receive(deadline);
        if (!bytes) return Unexpected<Error>{bytes.error()};
        // The first byte of the answer: what go-webntp takes as the receive time.
        if (first) a.t_recv = sw.now();
        first = false;
        if (bytes->empty()) {
            if (auto f = p.finish(); !f) return Unexpected<Error>{f.error()};
            break;
        }
        auto done = p.feed(*bytes);
        if (!done) return Unexpected<Error>{done.error()};
        if (*done) break;
    }
    reopen = !p.keep_alive();
    if (p.status() != 200) return fail("HTTP status " + std::to_string(p.status()), EX_PROTOCOL);
    auto r = reply_of(p.body(), "response body");
    if (!r) return Unexpected<Error>{r.error()};
    a.reply = std::move(*r);
    return a;
}

void random_wait() {
    static std::mt19937_64 rng{std::random_device{}()};
    std::uniform_int_distribution<int> ms(0, 999);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms(rng)));
}

}  // namespace

Result<UrlResult> query_url(const http::WebUrl& url, const QueryOptions& opt) {
    std::optional<TlsContext> tls_ctx;
    if (url.tls()) {
        auto c = TlsContext::client({.alpn = "http/1.1", .groups = "", .ca_file = opt.ca_file, .cert_file = "", .key_file = "",
                                     .alpn_optional = true, .allow_tls12 = true});
        if (!c) return Unexpected<Error>{c.error()};
        tls_ctx.emplace(std::move(*c));
    }
    UrlResult result;
    result.url = url;
    std::optional<Connection> conn;
    std::unique_ptr<http::WebSocketClient> ws;
    for (int i = 0; i < opt.samples; ++i) {
        if (i > 0) random_wait();
        const auto deadline = Clock::now() + opt.timeout;
        const bool reused = conn.has_value();
        if (!conn) {
            auto c = Connection::open(url, tls_ctx, deadline);
            if (!c) return Unexpected<Error>{c.error()};
            conn.emplace(std::move(*c));
            if (url.websocket()) {
                ws = std::make_unique<http::WebSocketClient>();
                if (auto s = conn->send(ws->handshake_request(url), deadline); !s) return Unexpected<Error>{s.error()};
                for (;;) {
                    auto bytes = conn->receive(deadline);
                    if (!bytes) return Unexpected<Error>{bytes.error()};
                    if (bytes->empty()) return fail("connection closed during the WebSocket handshake", EX_PROTOCOL);
                    auto done = ws->feed_handshake(*bytes);
                    if (!done) return Unexpected<Error>{done.error()};
                    if (*done) break;
                }
            }
        }
        Answer a;
        bool reopen = false;
        if (!url.websocket()) {
            auto r = http_exchange(*conn, url, deadline, reopen);
            if (!r && reused) {
                // The server may have closed the idle keep-alive connection: once on a new one.
                auto c = Connection::open(url, tls_ctx, deadline);
                if (!c) return Unexpected<Error>{c.error()};
                conn.emplace(std::move(*c));
                r = http_exchange(*conn, url, deadline, reopen);
            }
            if (!r) return Unexpected<Error>{r.error()};
            a = std::move(*r);
        } else {
            const Stopwatch sw;
            a.t_send = sw.wall;
            auto out = ws->message(http::format_timestamp(a.t_send));
            if (!out) return Unexpected<Error>{out.error()};
            if (auto s = conn->send(*out, deadline); !s) return Unexpected<Error>{s.error()};
            std::optional<std::string> text;
            bool first = true;
            while (!text) {
                auto m = ws->next_message();
                if (!m) return Unexpected<Error>{m.error()};
                if (*m) { text = std::move(**m); break; }
                if (auto reply = ws->take_output(); !reply.empty())
                    if (auto s = conn->send(reply, deadline); !s) return Unexpected<Error>{s.error()};
                auto bytes = conn->receive(deadline);
                if (!bytes) return Unexpected<Error>{bytes.error()};
                if (first) a.t_recv = sw.now();
                first = false;
                if (bytes->empty()) return fail("WebSocket closed by the server", EX_PROTOCOL);
                if (auto f = ws->feed(*bytes); !f) return Unexpected<Error>{f.error()};
            }
            auto r = reply_of(*text, "WebSocket message");
            if (!r) return Unexpected<Error>{r.error()};
            a.reply = std::move(*r);
        }
        const auto s = http::measure(a.t_send, a.t_recv, a.reply.st);
        log::info("%s: sample %d: offset %+.6f s, delay %.6f s", url.text().c_str(), i + 1,
                  static_cast<double>(s.offset) / 1e9, static_cast<double>(s.delay) / 1e9);
        result.samples.push_back(s);
        result.last = a.reply;
        result.last_recv = a.t_recv;
        if (reopen) conn.reset();
    }
    return result;
}

}  // namespace webntp_query
