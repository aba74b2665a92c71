#include "libtime/http/webntp_session.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

#include <llhttp.h>
#include <openssl/evp.h>
#include <wslay/wslay.h>

#include "libtime/http/webntp_message.hpp"

namespace timepipe::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// Whether a comma-separated header value lists `token` (case-insensitively).
bool has_token(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        auto comma = list.find(',');
        auto item = list.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (iequals(item, token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

// No CR or LF from a client's bytes in our reply's reason line.
std::string one_line(std::string s) {
    for (char& c : s)
        if (c == '\r' || c == '\n') c = ' ';
    return s;
}

const char* status_text(int status) {
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

}  // namespace

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

struct WebNtpSession::Http {
    llhttp_t parser;
    llhttp_settings_t settings;
    WebNtpSession* s = nullptr;
    std::string url, field, value, host, origin, upgrade, connection, ws_key, ws_version, ws_protocol;
    std::size_t header_bytes = 0;
    bool in_value = false;
    bool too_large = false;
    bool stop = false;  // an error reply was queued or the connection upgraded: parse no further

    void reset_message() {
        url.clear(), field.clear(), value.clear(), host.clear(), origin.clear(), upgrade.clear();
        connection.clear(), ws_key.clear(), ws_version.clear(), ws_protocol.clear();
        header_bytes = 0;
        in_value = false;
    }
    void end_header() {
        if (iequals(field, "host")) host = value;
        else if (iequals(field, "origin")) origin = value;
        else if (iequals(field, "upgrade")) upgrade = value;
        else if (iequals(field, "connection")) connection = value;
        else if (iequals(field, "sec-websocket-key")) ws_key = value;
        else if (iequals(field, "sec-websocket-version")) ws_version = value;
        else if (iequals(field, "sec-websocket-protocol")) ws_protocol += (ws_protocol.empty() ? "" : ",") + value;
        field.clear();
        value.clear();
        in_value = false;
    }
    // Counts request-line and header octets; false (431) beyond the limit.
    bool count(std::size_t n) {
        header_bytes += n;
        if (header_bytes > s->config_.max_header_bytes) {
            too_large = true;
            return false;
        }
        return true;
    }
    static Http& of(llhttp_t* p) { return *static_cast<Http*>(p->data); }
};

WebNtpSession::WebNtpSession(const SessionConfig& config, TimeSource time, std::int64_t now_ns)
    : config_(config), time_(std::move(time)), http_(std::make_unique<Http>()), now_(now_ns),
      last_activity_(now_ns) {
    Http& h = *http_;
    h.s = this;
    llhttp_settings_init(&h.settings);
    h.settings.on_message_begin = [](llhttp_t* p) {
        Http& st = Http::of(p);
        st.reset_message();
        st.s->request_started_ = st.s->now_;
        return 0;
    };
    h.settings.on_url = [](llhttp_t* p, const char* at, std::size_t n) {
        Http& st = Http::of(p);
        if (!st.count(n)) return -1;
        st.url.append(at, n);
        return 0;
    };
    h.settings.on_header_field = [](llhttp_t* p, const char* at, std::size_t n) {
        Http& st = Http::of(p);
        if (!st.count(n + 4)) return -1;  // + ": " and CRLF
        if (st.in_value) st.end_header();
        st.field.append(at, n);
        return 0;
    };
    h.settings.on_header_value = [](llhttp_t* p, const char* at, std::size_t n) {
        Http& st = Http::of(p);
        if (!st.count(n)) return -1;
        st.in_value = true;
        st.value.append(at, n);
        return 0;
    };
    h.settings.on_headers_complete = [](llhttp_t* p) {
        Http& st = Http::of(p);
        if (st.in_value) st.end_header();
        st.s->request_started_.reset();
        return 0;
    };
    h.settings.on_message_complete = [](llhttp_t* p) {
        Http& st = Http::of(p);
        st.s->answer_request();
        return st.stop ? HPE_PAUSED : 0;
    };
    llhttp_init(&h.parser, HTTP_REQUEST, &h.settings);
    h.parser.data = &h;
}

WebNtpSession::~WebNtpSession() = default;

void WebNtpSession::append(std::string_view s) {
    const auto* b = reinterpret_cast<const std::byte*>(s.data());
    out_.insert(out_.end(), b, b + s.size());
}

std::vector<std::byte> WebNtpSession::take_output() { return std::exchange(out_, {}); }

bool WebNtpSession::rate_ok() {
    const std::int64_t window = now_ / kNanosPerSecond;
    if (window != rate_window_) rate_window_ = window, rate_count_ = 0;
    return ++rate_count_ <= config_.max_rate;
}

struct WebNtpSession::WebSocket {
    wslay_event_context_ptr ctx = nullptr;
    std::span<const std::byte> input;
    std::string host;
    WebNtpSession* s = nullptr;
    ~WebSocket() {
        if (ctx) wslay_event_context_free(ctx);
    }
};

void WebNtpSession::feed(std::span<const std::byte> bytes, std::int64_t now_ns) {
    now_ = now_ns;
    last_activity_ = now_ns;
    if (done_ || bytes.empty()) return;
    if (!ws_) return http_feed(bytes);
    ws_->input = bytes;
    // A protocol error: wslay has queued its own close (1002, 1009) where it could; read no more.
    if (wslay_event_recv(ws_->ctx) != 0) wslay_event_shutdown_read(ws_->ctx);
    ws_->input = {};
    ws_flush();
}

bool WebNtpSession::expired(std::int64_t now_ns) {
    now_ = now_ns;
    if (done_) return true;
    if (!ws_ && request_started_ && now_ns - *request_started_ > config_.header_timeout_ns) {
        ++counters_.timeouts;
        reply_error(408, "request headers incomplete after " + std::to_string(config_.header_timeout_ns / kNanosPerSecond) + " s");
        return false;  // the 408 goes out, then done()
    }
    if (now_ns - last_activity_ <= config_.idle_timeout_ns) return false;
    ++counters_.timeouts;
    if (!ws_) {
        why_ = "idle";
        done_ = true;
        return true;
    }
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
    if (why_.empty()) why_ = "closed by the client";
    done_ = true;
}

void WebNtpSession::reply_error(int status, const std::string& reason) {
    const std::string body = one_line(reason) + "\n";
    append("HTTP/1.1 " + std::to_string(status) + " " + status_text(status) +
           "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body);
    why_ = std::to_string(status) + " " + one_line(reason);
    http_->stop = true;
    done_ = true;
}

void WebNtpSession::answer_request() {
    Http& h = *http_;
    if (!rate_ok()) {
        ++counters_.rate_limited;
        return reply_error(429, "more than " + std::to_string(config_.max_rate) + " requests a second");
    }
    const auto method = static_cast<llhttp_method_t>(h.parser.method);
    const bool upgrade_ws = method == HTTP_GET && has_token(h.connection, "upgrade") && iequals(h.upgrade, "websocket");
    if (upgrade_ws) return upgrade();
    if (method != HTTP_GET && method != HTTP_HEAD) {
        ++counters_.bad_requests;
        const std::string body = "only GET and HEAD\n";
        append("HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Type: text/plain; charset=utf-8\r\n"
               "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
        why_ = "405 method";
        h.stop = true;
        done_ = true;
        return;
    }
    const bool keep = llhttp_should_keep_alive(&h.parser) != 0;
    const std::string cors = config_.allow_cross_origin ? "Access-Control-Allow-Origin: *\r\n" : "";
    const std::string conn = keep ? "" : "Connection: close\r\n";
    const ServedTime t = time_();
    if (!t.synchronised) {
        ++counters_.unsynchronised;
        return reply_error(503, "unsynchronised: the upstream has no usable time");
    }
    if (method == HTTP_HEAD) {
        ++counters_.http_head;
        append("HTTP/1.1 204 No Content\r\nX-HTTPSTIME: " + format_timestamp(t.now) +
               "\r\nCache-Control: no-cache, no-store\r\n" + cors + conn + "\r\n");
    } else {
        UnixNanos it = 0;
        if (auto q = h.url.find('?'); q != std::string::npos) {
            std::string_view query = std::string_view(h.url).substr(q + 1);
            auto parsed = parse_timestamp(query);
            if (!parsed) {
                ++counters_.bad_requests;
                return reply_error(400, "query: " + parsed.error().what);
            }
            it = *parsed;
        }
        ++counters_.http_json;
        const std::string body = to_json_line(
            WebNtpReply{h.host, it, t.now, t.now, t.leap.leap, t.leap.next, t.leap.step});
        append("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-cache, no-store\r\n" + cors +
               conn + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    }
    if (!keep) {
        why_ = "Connection: close";
        h.stop = true;
        done_ = true;
    }
}

void WebNtpSession::http_feed(std::span<const std::byte> bytes) {
    Http& h = *http_;
    if (h.stop) return;
    const auto* data = reinterpret_cast<const char*>(bytes.data());
    llhttp_errno_t e = llhttp_execute(&h.parser, data, bytes.size());
    if (e == HPE_OK || h.stop || done_) {
        if (ws_) {
            // Bytes after the upgrade request are the first WebSocket frames.
            const char* pos = llhttp_get_error_pos(&h.parser);
            std::size_t used = pos ? static_cast<std::size_t>(pos - data) : bytes.size();
            if (used < bytes.size()) feed(bytes.subspan(used), now_);
        }
        return;
    }
    if (h.too_large) {
        ++counters_.headers_too_large;
        return reply_error(431, "request line and headers over " + std::to_string(config_.max_header_bytes) + " bytes");
    }
    ++counters_.bad_requests;
    reply_error(400, std::string("malformed HTTP: ") + llhttp_errno_name(e) + ": " +
                         (h.parser.reason ? h.parser.reason : "?"));
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

void WebNtpSession::upgrade() {
    Http& h = *http_;
    h.stop = true;  // the parser pauses after this message; the rest of the bytes are frames
    if (h.ws_key.empty() || h.ws_version != "13") {
        ++counters_.bad_requests;
        return reply_error(400, "WebSocket upgrade needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13");
    }
    if (!config_.allow_cross_origin && !h.origin.empty() && !same_origin(h.origin, h.host)) {
        ++counters_.forbidden_origin;
        return reply_error(403, "origin " + h.origin + " is not " + h.host + " (see --allow-cross-origin)");
    }
    ws_ = std::make_unique<WebSocket>();
    ws_->s = this;
    ws_->host = h.host;
    static const wslay_event_callbacks callbacks = {ws_recv, ws_send, nullptr, nullptr, nullptr, nullptr, ws_on_msg};
    if (wslay_event_context_server_init(&ws_->ctx, &callbacks, ws_.get()) != 0) {
        ws_.reset();
        return reply_error(400, "WebSocket: out of memory");
    }
    wslay_event_config_set_max_recv_msg_length(ws_->ctx, config_.max_message_bytes);
    ++counters_.ws_upgrades;
    std::string reply = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: " + websocket_accept(h.ws_key) + "\r\n";
    if (has_token(h.ws_protocol, kWebNtpSubprotocol))
        reply += "Sec-WebSocket-Protocol: " + std::string(kWebNtpSubprotocol) + "\r\n";
    append(reply + "\r\n");
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
    if (!rate_ok()) {
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
