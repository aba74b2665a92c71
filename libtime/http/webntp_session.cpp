#include "libtime/http/webntp_session.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include <openssl/evp.h>
#include <wslay/wslay.h>

#include "libtime/http/webntp_message.hpp"

namespace timepipe::http {

SessionCounters& SessionCounters::operator+=(const SessionCounters& o) {
    http_json += o.http_json;
    http_head += o.http_head;
    ws_upgrades += o.ws_upgrades;
    ws_messages += o.ws_messages;
    bad_requests += o.bad_requests;
    headers_too_large += o.headers_too_large;
    rate_limited += o.rate_limited;
    forbidden_origin += o.forbidden_origin;
    ws_closed_error += o.ws_closed_error;
    timeouts += o.timeouts;
    unsynchronised += o.unsynchronised;
    return *this;
}

std::string websocket_accept(std::string_view key) {
    std::string in(key);
    in += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(in.data(), in.size(), md, &len, EVP_sha1(), nullptr);
    unsigned char b64[64] = {};
    int n = EVP_EncodeBlock(b64, md, static_cast<int>(len));
    return std::string(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n > 0 ? n : 0));
}

bool same_origin(std::string_view origin, std::string_view host) {
    // gorilla/websocket checkSameOrigin: url.Parse(origin).Host equal-fold to the Host header.
    auto scheme = origin.find("://");
    if (scheme == std::string_view::npos) return false;
    auto rest = origin.substr(scheme + 3);
    auto end = rest.find_first_of("/?#");
    auto h = rest.substr(0, end);
    if (auto at = h.rfind('@'); at != std::string_view::npos) h.remove_prefix(at + 1);
    return !h.empty() && iequals(h, host);
}

bool valid_utf8(std::span<const std::byte> bytes) {
    std::size_t i = 0;
    const std::size_t n = bytes.size();
    auto at = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
    while (i < n) {
        unsigned char c = at(i);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len;
        std::uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1Fu;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0Fu;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07u;
        else return false;
        if (i + len > n) return false;
        for (std::size_t k = 1; k < len; ++k) {
            if ((at(i + k) & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (at(i + k) & 0x3Fu);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

// ---- HTTP ----------------------------------------------------------------------------------------

namespace {

ServerConfig server_config(const SessionConfig& c) {
    ServerConfig s;
    s.max_header_bytes = c.max_header_bytes;
    s.max_rate = c.max_rate;
    s.header_timeout_ns = c.header_timeout_ns;
    s.idle_timeout_ns = c.idle_timeout_ns;
    return s;
}

}  // namespace

struct WebNtpSession::WebSocket {
    wslay_event_context_ptr ctx = nullptr;
    std::span<const std::byte> input;
    std::string host;
    WebNtpSession* s = nullptr;
    ~WebSocket() {
        if (ctx) wslay_event_context_free(ctx);
    }
};

WebNtpSession::WebNtpSession(const SessionConfig& config, TimeSource time, std::int64_t now_ns)
    : config_(config), time_(std::move(time)),
      http_(server_config(config), [this](const Request& rq) { return answer(rq); }, now_ns,
            [this](const Request& rq) { return upgrade(rq); }),
      now_(now_ns), last_activity_(now_ns) {}

WebNtpSession::~WebNtpSession() = default;

SessionCounters WebNtpSession::counters() const {
    SessionCounters c = counters_;
    const ServerCounters& h = http_.counters();
    c.bad_requests += h.bad_requests + h.body_too_large;
    c.headers_too_large += h.headers_too_large;
    c.rate_limited += h.rate_limited;
    c.timeouts += h.timeouts;
    return c;
}

std::vector<std::byte> WebNtpSession::take_output() {
    auto out = http_.take_output();
    out.insert(out.end(), out_.begin(), out_.end());
    out_.clear();
    return out;
}

void WebNtpSession::feed(std::span<const std::byte> bytes, std::int64_t now_ns) {
    now_ = now_ns;
    last_activity_ = now_ns;
    if (done() || bytes.empty()) return;
    if (ws_) return ws_feed(bytes);
    http_.feed(bytes, now_ns);
    if (ws_) {
        // Bytes after the upgrade request are the first WebSocket frames.
        auto rest = http_.take_leftover();
        if (!rest.empty()) ws_feed(rest);
    }
}

void WebNtpSession::ws_feed(std::span<const std::byte> bytes) {
    ws_->input = bytes;
    // A protocol error: wslay has queued its own close (1002, 1009) where it could; read no more.
    if (wslay_event_recv(ws_->ctx) != 0) wslay_event_shutdown_read(ws_->ctx);
    ws_->input = {};
    ws_flush();
}

bool WebNtpSession::expired(std::int64_t now_ns) {
    now_ = now_ns;
    if (done()) return true;
    if (!ws_) return http_.expired(now_ns);
    if (now_ns - last_activity_ <= config_.idle_timeout_ns) return false;
    ++counters_.timeouts;
    if (!wslay_event_get_close_sent(ws_->ctx)) {
        why_ = "WebSocket idle";
        static constexpr std::string_view kIdle = "idle";
        wslay_event_queue_close(ws_->ctx, 1000, reinterpret_cast<const std::uint8_t*>(kIdle.data()), kIdle.size());
        wslay_event_shutdown_read(ws_->ctx);
        last_activity_ = now_ns;  // the client has one more idle period to answer the close
        ws_flush();
        return false;
    }
    done_ = true;
    return true;
}

void WebNtpSession::end_of_input() {
    if (why_.empty() && http_.why().empty()) why_ = "closed by the client";
    http_.end_of_input();
    done_ = true;
}

Response WebNtpSession::answer(const Request& rq) {
    std::vector<std::pair<std::string, std::string>> headers;
    const ServedTime t = time_();
    if (!t.synchronised) {
        ++counters_.unsynchronised;
        return Response::error(503, "unsynchronised: the upstream has no usable time");
    }
    auto tail = [&] {
        if (config_.allow_cross_origin) headers.emplace_back("Access-Control-Allow-Origin", "*");
        if (!rq.keep_alive) headers.emplace_back("Connection", "close");
    };
    if (rq.method == "HEAD") {
        ++counters_.http_head;
        headers = {{"X-HTTPSTIME", format_timestamp(t.now)}, {"Cache-Control", "no-cache, no-store"}};
        tail();
        return Response{204, std::move(headers), {}, !rq.keep_alive};
    }
    UnixNanos it = 0;
    if (auto q = rq.target.find('?'); q != std::string::npos) {
        auto parsed = parse_timestamp(std::string_view(rq.target).substr(q + 1));
        if (!parsed) {
            ++counters_.bad_requests;
            return Response::error(400, "query: " + parsed.error().what);
        }
        it = *parsed;
    }
    ++counters_.http_json;
    const std::string host = rq.header("host");
    headers = {{"Content-Type", "application/json"}, {"Cache-Control", "no-cache, no-store"}};
    tail();
    return Response{200, std::move(headers), to_json_line(WebNtpReply{host, it, t.now, t.now, t.leap.leap, t.leap.next, t.leap.step}),
                    !rq.keep_alive};
}

// ---- WebSocket -----------------------------------------------------------------------------------


namespace {

ssize_t ws_recv(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int, void* user) {
    auto& w = *static_cast<WebNtpSession::WebSocket*>(user);
    if (w.input.empty()) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    const std::size_t n = std::min(len, w.input.size());
    std::memcpy(buf, w.input.data(), n);
    w.input = w.input.subspan(n);
    return static_cast<ssize_t>(n);
}

ssize_t ws_send(wslay_event_context_ptr, const std::uint8_t* data, std::size_t len, int, void* user);
void ws_on_msg(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user);

}  // namespace

struct WsAccess {
    static void out(WebNtpSession& s, std::span<const std::byte> b) { s.out_.insert(s.out_.end(), b.begin(), b.end()); }
    static void msg(WebNtpSession& s, int opcode, std::span<const std::byte> m) { s.ws_message(opcode, m); }
};

namespace {

ssize_t ws_send(wslay_event_context_ptr, const std::uint8_t* data, std::size_t len, int, void* user) {
    auto& w = *static_cast<WebNtpSession::WebSocket*>(user);
    WsAccess::out(*w.s, std::as_bytes(std::span(data, len)));
    return static_cast<ssize_t>(len);
}

void ws_on_msg(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
    auto& w = *static_cast<WebNtpSession::WebSocket*>(user);
    if (arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME)
        WsAccess::msg(*w.s, arg->opcode, std::as_bytes(std::span(arg->msg, arg->msg_length)));
}

}  // namespace

std::optional<Response> WebNtpSession::upgrade(const Request& rq) {
    if (rq.method != "GET" || !iequals(rq.header("upgrade"), "websocket")) return std::nullopt;
    const std::string key = rq.header("sec-websocket-key"), host = rq.header("host"), origin = rq.header("origin");
    if (key.empty() || rq.header("sec-websocket-version") != "13") {
        ++counters_.bad_requests;
        return Response::error(400, "WebSocket upgrade needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13");
    }
    if (!config_.allow_cross_origin && !origin.empty() && !same_origin(origin, host)) {
        ++counters_.forbidden_origin;
        return Response::error(403, "origin " + origin + " is not " + host + " (see --allow-cross-origin)");
    }
    ws_ = std::make_unique<WebSocket>();
    ws_->s = this;
    ws_->host = host;
    static const wslay_event_callbacks callbacks = {ws_recv, ws_send, nullptr, nullptr, nullptr, nullptr, ws_on_msg};
    if (wslay_event_context_server_init(&ws_->ctx, &callbacks, ws_.get()) != 0) {
        ws_.reset();
        return Response::error(400, "WebSocket: out of memory");
    }
    wslay_event_config_set_max_recv_msg_length(ws_->ctx, config_.max_message_bytes);
    ++counters_.ws_upgrades;
    Response r{101, {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Accept", websocket_accept(key)}}, {}, false};
    if (has_token(rq.header_list("sec-websocket-protocol"), kWebNtpSubprotocol))
        r.headers.emplace_back("Sec-WebSocket-Protocol", kWebNtpSubprotocol);
    return r;
}

void WebNtpSession::ws_message(int opcode, std::span<const std::byte> msg) {
    auto close = [&](std::uint16_t code, const std::string& reason) {
        ++counters_.ws_closed_error;
        why_ = "WebSocket close " + std::to_string(code) + ": " + reason;
        wslay_event_queue_close(ws_->ctx, code, reinterpret_cast<const std::uint8_t*>(reason.data()),
                                std::min<std::size_t>(reason.size(), 123));
        wslay_event_shutdown_read(ws_->ctx);
    };
    if (opcode == WSLAY_TEXT_FRAME && !valid_utf8(msg)) return close(1007, "text message is not UTF-8");
    if (!http_.rate_ok(now_)) {
        ++counters_.rate_limited;
        return close(1008, "more than " + std::to_string(config_.max_rate) + " messages a second");
    }
    std::string_view text(reinterpret_cast<const char*>(msg.data()), msg.size());
    auto it = parse_timestamp(text);
    if (!it) return close(1007, "not a timestamp: " + it.error().what);
    const ServedTime t = time_();
    if (!t.synchronised) {
        ++counters_.unsynchronised;
        return close(1013, "unsynchronised: the upstream has no usable time");
    }
    ++counters_.ws_messages;
    const std::string line = to_json_line(WebNtpReply{ws_->host, *it, t.now, t.now, t.leap.leap, t.leap.next, t.leap.step});
    wslay_event_msg m{WSLAY_TEXT_FRAME, reinterpret_cast<const std::uint8_t*>(line.data()), line.size()};
    wslay_event_queue_msg(ws_->ctx, &m);  // copies the bytes
}

void WebNtpSession::ws_flush() {
    if (wslay_event_want_write(ws_->ctx)) wslay_event_send(ws_->ctx);
    if (!wslay_event_want_read(ws_->ctx) && !wslay_event_want_write(ws_->ctx)) {
        if (why_.empty()) why_ = "WebSocket closed";
        done_ = true;
    }
}

}  // namespace timepipe::http
