// WebNTP's WebSocket client over bytes: see client_websocket.hpp.
#include "libtime/http/client_websocket.hpp"

#include <openssl/rand.h>
#include <wslay/wslay.h>

#include <array>
#include <cctype>
#include <cstring>

#include "libtime/base/base64.hpp"
#include "libtime/http/webntp_message.hpp"

namespace timepipe::http {

namespace {

constexpr std::size_t kMaxMessage = 64 * 1024;

bool contains_token(std::string_view list, std::string_view token) {
    // Comma-separated, case-insensitive ("Connection: keep-alive, Upgrade").
    std::size_t i = 0;
    while (i <= list.size()) {
        auto end = list.find(',', i);
        if (end == std::string_view::npos) end = list.size();
        std::string_view t = list.substr(i, end - i);
        while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
        while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
        if (t.size() == token.size() &&
            std::equal(t.begin(), t.end(), token.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            }))
            return true;
        i = end + 1;
    }
    return false;
}

}  // namespace

struct WebSocketClient::State {
    std::string key;
    HttpResponseParser head;
    wslay_event_context_ptr ctx = nullptr;
    std::string in, out;
    std::deque<std::string> messages;
    std::optional<int> closed;  // the server's close status
    bool failed = false;
    bool too_big = false;       // a frame declared longer than kMaxMessage

    ~State() {
        if (ctx) wslay_event_context_free(ctx);
    }

    static State& of(void* p) { return *static_cast<State*>(p); }
};

WebSocketClient::WebSocketClient() : s_(std::make_unique<State>()) {}
WebSocketClient::~WebSocketClient() = default;

std::string WebSocketClient::handshake_request(const WebUrl& url) {
    std::array<std::byte, 16> nonce{};
    if (RAND_bytes(static_cast<unsigned char*>(static_cast<void*>(nonce.data())), static_cast<int>(nonce.size())) != 1) {
        // Never reached with a working OpenSSL; a fixed key still fails no check of ours.
        nonce.fill(std::byte{0x5a});
    }
    s_->key = base64_encode(nonce);
    return websocket_upgrade_request(url, s_->key);
}

Result<bool> WebSocketClient::feed_handshake(std::string_view bytes) {
    if (s_->ctx) return true;
    auto done = s_->head.feed(bytes);
    if (!done) return Unexpected<Error>{done.error()};
    if (!*done) return false;
    const auto bad = [](const std::string& why) { return fail("WebSocket handshake: " + why, EX_PROTOCOL); };
    if (s_->head.status() != 101) return bad("HTTP status " + std::to_string(s_->head.status()) + ", not 101");
    if (!contains_token(s_->head.header("upgrade").value_or(""), "websocket")) return bad("no Upgrade: websocket");
    if (!contains_token(s_->head.header("connection").value_or(""), "upgrade")) return bad("no Connection: Upgrade");
    if (s_->head.header("sec-websocket-accept").value_or("") != expected_websocket_accept(s_->key))
        return bad("Sec-WebSocket-Accept does not match the key");
    if (auto p = s_->head.header("sec-websocket-protocol"); p && *p != kWebNtpSubprotocol)
        return bad("the server chose subprotocol \"" + *p + "\"");
    if (auto e = s_->head.header("sec-websocket-extensions"); e && !e->empty())
        return bad("the server chose extensions we did not offer");

    static const wslay_event_callbacks callbacks{
        [](wslay_event_context_ptr ctx, std::uint8_t* buf, std::size_t len, int, void* user) -> ssize_t {
            State& s = State::of(user);
            if (s.in.empty()) {
                wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
                return -1;
            }
            const std::size_t n = std::min(len, s.in.size());
            std::memcpy(buf, s.in.data(), n);
            s.in.erase(0, n);
            return static_cast<ssize_t>(n);
        },
        [](wslay_event_context_ptr, const std::uint8_t* data, std::size_t len, int, void* user) -> ssize_t {
            State::of(user).out.append(static_cast<const char*>(static_cast<const void*>(data)), len);
            return static_cast<ssize_t>(len);
        },
        [](wslay_event_context_ptr, std::uint8_t* buf, std::size_t len, void*) -> int {
            return RAND_bytes(buf, static_cast<int>(len)) == 1 ? 0 : -1;
        },
        // wslay only counts a message's length as its payload arrives: refuse a declared 2 GB at once.
        [](wslay_event_context_ptr, const wslay_event_on_frame_recv_start_arg* arg, void* user) {
            if (arg->payload_length > kMaxMessage) State::of(user).too_big = true;
        },
        nullptr, nullptr,
        [](wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user) {
            State& s = State::of(user);
            if (arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME)
                s.messages.emplace_back(static_cast<const char*>(static_cast<const void*>(arg->msg)), arg->msg_length);
            else if (arg->opcode == WSLAY_CONNECTION_CLOSE)
                s.closed = arg->status_code;
        },
    };
    if (wslay_event_context_client_init(&s_->ctx, &callbacks, s_.get()) != 0) return bad("out of memory");
    wslay_event_config_set_max_recv_msg_length(s_->ctx, kMaxMessage);
    std::string rest = s_->head.leftover();
    if (!rest.empty())
        if (auto f = feed(rest); !f) return Unexpected<Error>{f.error()};
    return true;
}

Result<std::string> WebSocketClient::message(std::string_view text) {
    if (!s_->ctx) return fail("WebSocket: not connected", EX_SOFTWARE);
    const wslay_event_msg msg{WSLAY_TEXT_FRAME, static_cast<const std::uint8_t*>(static_cast<const void*>(text.data())),
                              text.size()};
    if (wslay_event_queue_msg(s_->ctx, &msg) != 0) return fail("WebSocket: the connection is closing", EX_PROTOCOL);
    if (wslay_event_send(s_->ctx) != 0) return fail("WebSocket: send failed", EX_PROTOCOL);
    return take_output();
}

Result<void> WebSocketClient::feed(std::string_view bytes) {
    if (!s_->ctx) return fail("WebSocket: not connected", EX_SOFTWARE);
    if (s_->failed) return fail("WebSocket: the connection failed", EX_PROTOCOL);
    s_->in.append(bytes);
    const int rv = wslay_event_recv(s_->ctx);
    if (s_->too_big) {
        s_->failed = true;
        return fail("WebSocket: invalid frame from the server (declared longer than 64 KiB)", EX_PROTOCOL);
    }
    if (rv != 0) {
        s_->failed = true;
        return fail("WebSocket: invalid frame from the server (or a message over 64 KiB)", EX_PROTOCOL);
    }
    (void)wslay_event_send(s_->ctx);  // pongs and the close reply go out with take_output()
    // wslay answers a bad frame (masked, oversized, invalid UTF-8 text) with a close of its own
    // and stops reading; it does not report it as an error.
    if (!wslay_event_get_read_enabled(s_->ctx) && !wslay_event_get_close_received(s_->ctx)) {
        s_->failed = true;
        return fail("WebSocket: invalid frame from the server (closed with status " +
                        std::to_string(wslay_event_get_status_code_sent(s_->ctx)) + ")",
                    EX_PROTOCOL);
    }
    return {};
}

Result<std::optional<std::string>> WebSocketClient::next_message() {
    if (!s_->messages.empty()) {
        std::string m = std::move(s_->messages.front());
        s_->messages.pop_front();
        return std::optional<std::string>(std::move(m));
    }
    if (s_->closed) return fail("WebSocket closed by the server, status " + std::to_string(*s_->closed), EX_PROTOCOL);
    return std::optional<std::string>();
}

std::string WebSocketClient::take_output() { return std::exchange(s_->out, {}); }

}  // namespace timepipe::http
