#include "bench/webntp-loadgen/conn.hpp"

#include <llhttp.h>
#include <openssl/evp.h>
#include <wslay/wslay.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <sysexits.h>

#include "libtime/base/base64.hpp"

namespace timepipe::bench {
namespace {

constexpr std::size_t kMaxBody = 64 * 1024;  // a webntp reply is ~150 octets: more is a fault

Unexpected<Error> fail(std::string what) { return timepipe::fail(std::move(what), EX_PROTOCOL); }
Unexpected<Error> pass_on(const Error& e) { return Unexpected<Error>{e}; }

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

// llhttp's callbacks for one response at a time: status, the headers we look at, the body.
struct ResponseParser {
    llhttp_t parser{};
    llhttp_settings_t settings{};
    bool complete = false;
    bool headers_done = false;
    std::string body;
    std::string field, value, accept;  // accept: Sec-WebSocket-Accept
    bool in_value = false;

    ResponseParser() {
        llhttp_settings_init(&settings);
        settings.on_header_field = [](llhttp_t* p, const char* at, std::size_t n) {
            auto* self = static_cast<ResponseParser*>(p->data);
            if (self->in_value) self->end_header();
            self->field.append(at, n);
            return 0;
        };
        settings.on_header_value = [](llhttp_t* p, const char* at, std::size_t n) {
            auto* self = static_cast<ResponseParser*>(p->data);
            self->in_value = true;
            self->value.append(at, n);
            return 0;
        };
        settings.on_headers_complete = [](llhttp_t* p) {
            auto* self = static_cast<ResponseParser*>(p->data);
            if (self->in_value) self->end_header();
            self->headers_done = true;
            return 0;
        };
        settings.on_body = [](llhttp_t* p, const char* at, std::size_t n) {
            auto* self = static_cast<ResponseParser*>(p->data);
            if (self->body.size() + n > kMaxBody) return -1;
            self->body.append(at, n);
            return 0;
        };
        // Pause after each response: anything after it (no pipelining here) is the server's fault.
        settings.on_message_complete = [](llhttp_t* p) {
            static_cast<ResponseParser*>(p->data)->complete = true;
            return static_cast<int>(HPE_PAUSED);
        };
        llhttp_init(&parser, HTTP_RESPONSE, &settings);
        parser.data = this;
    }
    ResponseParser(const ResponseParser&) = delete;
    ResponseParser& operator=(const ResponseParser&) = delete;

    void end_header() {
        std::string lower = field;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (lower == "sec-websocket-accept") accept = value;
        field.clear();
        value.clear();
        in_value = false;
    }
    void next() {
        complete = headers_done = false;
        body.clear();
    }
    std::string error_text() const {
        return std::string("bad HTTP response: ") + llhttp_errno_name(llhttp_get_errno(&parser)) + ": " +
               (parser.reason ? parser.reason : "?");
    }
};

class HttpConn final : public WebNtpConn {
public:
    HttpConn(TcpClient c, const ConnOptions& o) : client_(std::move(c)), options_(o) {}

    Result<Exchange> exchange(std::string_view ts) override {
        if (closing_) return fail("the server ended keep-alive");
        request_.assign("GET ").append(options_.path).append("?").append(ts);
        request_.append(" HTTP/1.1\r\nHost: ").append(options_.host).append("\r\n\r\n");
        if (auto s = client_.send_all(bytes_of(request_), options_.timeout); !s) return pass_on(s.error());
        rp_.next();
        while (!rp_.complete) {
            auto n = client_.receive_some(std::as_writable_bytes(std::span(buf_)), options_.timeout);
            if (!n) return pass_on(n.error());
            if (*n == 0) return fail("connection closed before the response ended");
            const char* data = buf_.data();
            auto err = llhttp_execute(&rp_.parser, data, *n);
            if (err == HPE_PAUSED) {
                std::size_t used = static_cast<std::size_t>(llhttp_get_error_pos(&rp_.parser) - data);
                if (used != *n) return fail("bytes after the response, none requested");
                llhttp_resume(&rp_.parser);
            } else if (err != HPE_OK) {
                return fail(rp_.error_text());
            }
        }
        if (!llhttp_should_keep_alive(&rp_.parser)) closing_ = true;
        if (rp_.parser.status_code != 200) return Exchange{false, "status " + std::to_string(rp_.parser.status_code)};
        return judge_body(rp_.body, ts, options_.check_echo);
    }

private:
    TcpClient client_;
    ConnOptions options_;
    ResponseParser rp_;
    std::string request_;
    std::array<char, 16384> buf_{};
    bool closing_ = false;
};

class WsConn final : public WebNtpConn {
public:
    WsConn(TcpClient c, const ConnOptions& o, std::string leftover)
        : client_(std::move(c)), options_(o), pending_(std::move(leftover)), rng_(std::random_device{}()) {
        wslay_event_callbacks cb{};
        cb.recv_callback = [](wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int, void* user) -> ssize_t {
            return static_cast<WsConn*>(user)->on_recv(ctx, buf, len);
        };
        cb.send_callback = [](wslay_event_context_ptr ctx, const std::uint8_t* data, std::size_t len, int, void* user) -> ssize_t {
            return static_cast<WsConn*>(user)->on_send(ctx, data, len);
        };
        cb.genmask_callback = [](wslay_event_context_ptr, std::uint8_t* buf, std::size_t len, void* user) {
            auto* self = static_cast<WsConn*>(user);
            for (std::size_t i = 0; i < len; ++i) buf[i] = static_cast<std::uint8_t>(self->rng_());
            return 0;
        };
        cb.on_msg_recv_callback = [](wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
            static_cast<WsConn*>(user)->on_message(*arg);
        };
        if (wslay_event_context_client_init(&ctx_, &cb, this) != 0) ctx_ = nullptr;
        if (ctx_) wslay_event_config_set_max_recv_msg_length(ctx_, kMaxBody);
    }
    ~WsConn() override {
        if (!ctx_) return;
        // A close frame (1000) before the socket goes, so the server sees an orderly end.
        if (!io_error_.size() && wslay_event_queue_close(ctx_, WSLAY_CODE_NORMAL_CLOSURE, nullptr, 0) == 0)
            send_queued();
        wslay_event_context_free(ctx_);
    }
    bool ready() const { return ctx_ != nullptr; }

    Result<Exchange> exchange(std::string_view ts) override {
        got_reply_ = false;
        io_error_.clear();
        wslay_event_msg msg{WSLAY_TEXT_FRAME, reinterpret_cast<const std::uint8_t*>(ts.data()), ts.size()};
        if (wslay_event_queue_msg(ctx_, &msg) != 0) return fail("the WebSocket connection is closing");
        if (!send_queued()) return fail(io_error_.empty() ? "WebSocket send failed" : io_error_);
        while (!got_reply_) {
            if (wslay_event_recv(ctx_) != 0)
                return fail(io_error_.empty() ? "bad WebSocket frame from the server" : io_error_);
            if (wslay_event_get_close_received(ctx_))
                return fail("the server closed the WebSocket (status " + std::to_string(wslay_event_get_status_code_received(ctx_)) + ")");
        }
        if (wslay_event_want_write(ctx_) && !send_queued()) return fail("WebSocket send failed");  // a pong
        if (reply_opcode_ != WSLAY_TEXT_FRAME) return Exchange{false, "reply not in a text frame"};
        return judge_body(reply_, ts, options_.check_echo);
    }

private:
    ssize_t on_recv(wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len) {
        if (!pending_.empty()) {
            std::size_t n = std::min(len, pending_.size());
            std::memcpy(buf, pending_.data(), n);
            pending_.erase(0, n);
            return static_cast<ssize_t>(n);
        }
        if (got_reply_) {  // the reply is in: return to exchange() instead of waiting for more
            wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
            return -1;
        }
        auto n = client_.receive_some(std::as_writable_bytes(std::span(buf, len)), options_.timeout);
        if (!n || *n == 0) {
            io_error_ = n ? "connection closed" : n.error().what;
            wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
            return -1;
        }
        return static_cast<ssize_t>(*n);
    }
    // wslay hands a frame's header and payload over separately: gather them and send the frame
    // in one write, as a browser does (two would be two segments, the second held by Nagle).
    ssize_t on_send(wslay_event_context_ptr, const std::uint8_t* data, std::size_t len) {
        out_.append(reinterpret_cast<const char*>(data), len);
        return static_cast<ssize_t>(len);
    }
    bool send_queued() {
        if (wslay_event_send(ctx_) != 0) return false;
        auto s = client_.send_all(bytes_of(out_), options_.timeout);
        out_.clear();
        if (!s) io_error_ = s.error().what;
        return static_cast<bool>(s);
    }
    void on_message(const wslay_event_on_msg_recv_arg& arg) {
        if (arg.opcode != WSLAY_TEXT_FRAME && arg.opcode != WSLAY_BINARY_FRAME) return;  // ping, pong, close
        reply_.assign(reinterpret_cast<const char*>(arg.msg), arg.msg_length);
        reply_opcode_ = arg.opcode;
        got_reply_ = true;
    }

    TcpClient client_;
    ConnOptions options_;
    std::string pending_;  // octets that came with the handshake's response
    std::mt19937_64 rng_;  // masking keys: RFC 6455 §5.3 wants them unpredictable to proxies, not secret
    wslay_event_context_ptr ctx_ = nullptr;
    bool got_reply_ = false;
    std::string reply_;
    std::uint8_t reply_opcode_ = 0;
    std::string io_error_;
    std::string out_;  // the frames wslay produced, not yet written
};

// RFC 6455 §4.1: the key, and §4.2.2: the accept value the server must send back.
std::string websocket_accept(std::string_view key) {
    std::string in(key);
    in += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned len = 0;
    if (EVP_Digest(in.data(), in.size(), md.data(), &len, EVP_sha1(), nullptr) != 1) return {};
    return base64_encode(std::as_bytes(std::span(md.data(), len)));
}

Result<std::unique_ptr<WebNtpConn>> open_websocket(TcpClient client, const ConnOptions& o) {
    std::array<std::byte, 16> nonce{};
    std::random_device rd;
    for (auto& b : nonce) b = static_cast<std::byte>(rd());
    const std::string key = base64_encode(nonce);
    std::string req = "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                      "\r\nSec-WebSocket-Version: 13\r\n";
    if (!o.subprotocol.empty()) req += "Sec-WebSocket-Protocol: " + o.subprotocol + "\r\n";
    req += "\r\n";
    if (auto s = client.send_all(bytes_of(req), o.timeout); !s) return pass_on(s.error());
    ResponseParser rp;
    std::array<char, 4096> buf{};
    std::string leftover;
    for (;;) {
        auto n = client.receive_some(std::as_writable_bytes(std::span(buf)), o.timeout);
        if (!n) return pass_on(n.error());
        if (*n == 0) return fail("connection closed during the WebSocket handshake");
        auto err = llhttp_execute(&rp.parser, buf.data(), *n);
        if (err == HPE_PAUSED_UPGRADE || (err == HPE_PAUSED && rp.parser.upgrade)) {
            const char* at = llhttp_get_error_pos(&rp.parser);
            leftover.assign(at, static_cast<std::size_t>(buf.data() + *n - at));
            break;
        }
        if (err == HPE_PAUSED) break;  // a complete non-upgrade response
        if (err != HPE_OK) return fail(rp.error_text());
    }
    if (rp.parser.status_code != 101)
        return fail("WebSocket handshake refused: status " + std::to_string(rp.parser.status_code));
    if (rp.accept != websocket_accept(key)) return fail("WebSocket handshake: wrong Sec-WebSocket-Accept");
    auto conn = std::make_unique<WsConn>(std::move(client), o, std::move(leftover));
    if (!conn->ready()) return timepipe::fail("wslay: out of memory", EX_OSERR);
    return std::unique_ptr<WebNtpConn>(std::move(conn));
}

}  // namespace

Exchange judge_body(std::string_view body, std::string_view ts, bool check_echo) {
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
    if (body.size() < 2 || body.front() != '{' || body.back() != '}') return {false, "reply is not a JSON object"};
    if (check_echo) {
        std::string want = "\"it\":";
        want += ts;
        std::size_t at = body.find(want);
        // the number must end there: "it":1.5 is no echo of 1.51
        if (at == std::string_view::npos || (body[at + want.size()] != ',' && body[at + want.size()] != '}'))
            return {false, "reply does not echo the timestamp sent"};
    }
    return {true, {}};
}

Result<std::unique_ptr<WebNtpConn>> WebNtpConn::open(const SocketAddress& server, const ConnOptions& options) {
    auto c = TcpClient::connect(server, options.timeout);
    if (!c) return pass_on(c.error());
    if (options.websocket) return open_websocket(std::move(*c), options);
    return std::unique_ptr<WebNtpConn>(std::make_unique<HttpConn>(std::move(*c), options));
}

}  // namespace timepipe::bench
