// One webntp-serve connection as pure protocol: plaintext bytes from the client in, bytes for the
// client out, no sockets (libtime/sys/connection_server moves bytes between them and TLS or TCP).
// HTTP/1.1 is http::ServerSession's (llhttp; keep-alive; pipelined requests answered in order;
// 400, 405, 408, 429, 431); this file answers WebNTP's requests and, through the session's upgrade
// hook, turns the connection into a WebSocket session over wslay, fed from memory.
//
//   WebNtpSession s(config, [&] { return ServedTime{clock.now(), leap}; });
//   s.feed(plain, monotonic_now());         // answers are queued as they complete
//   send(s.take_output());
//   if (s.done()) close_after_flush();      // error reply, Connection: close, WebSocket closed
//   if (s.expired(monotonic_now())) drop(); // slow headers, idle keep-alive or WebSocket
//
// HTTP: GET (any path) "?<timestamp>" -> 200 application/json, the JSON line (webntp_message);
// no query: it = 0 (as go-webntp); an unparsable query -> 400 with a one-line reason, and the
// connection closes. HEAD (any path) -> 204 with X-HTTPSTIME. Other methods -> 405. Malformed
// HTTP -> 400; request line and headers over max_header_bytes -> 431; more than max_rate
// requests (or WebSocket messages) within a second -> 429 (WebSocket: close 1008); every error
// closes the connection after its reply.
// WebSocket (RFC 6455, version 13): the origin is checked as go-webntp's gorilla upgrader does
// (no Origin header, or its host equal to Host, case-insensitively) unless allow_cross_origin;
// refused: 403. Subprotocol webntp.shogo82148.com echoed when offered, accepted without it.
// Each text or binary message is one bare timestamp, answered with one text frame of the JSON.
// Closes: message over 1024 bytes 1009 (wslay, from the declared length, nothing buffered);
// text that is not UTF-8 1007; not a timestamp 1007; too fast 1008; protocol error 1002.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "libtime/base/unix_time.hpp"
#include "libtime/http/server_session.hpp"

namespace timepipe::http {

// What the leap-seconds list says, as the JSON line carries it; all 0 when unknown.
struct LeapInfo {
    int leap = 0;        // TAI - UTC before `next`
    UnixNanos next = 0;  // the next leap second, or the last one when none is announced
    int step = 0;        // +1 inserted, -1 deleted
};

struct ServedTime {
    bool synchronised = true;  // false: --upstream has nothing usable: HTTP 503, WebSocket close 1013
    UnixNanos now = 0;
    LeapInfo leap;
};

struct SessionConfig {
    std::size_t max_header_bytes = 8192;
    std::size_t max_message_bytes = 1024;   // WebSocket
    unsigned max_rate = 100;                // requests or messages per second per connection
    std::int64_t header_timeout_ns = 10 * kNanosPerSecond;  // a request's headers, first byte to end
    std::int64_t idle_timeout_ns = 60 * kNanosPerSecond;    // keep-alive and WebSocket
    bool allow_cross_origin = false;
};

struct SessionCounters {
    std::uint64_t http_json = 0, http_head = 0, ws_upgrades = 0, ws_messages = 0, bad_requests = 0,
                  headers_too_large = 0, rate_limited = 0, forbidden_origin = 0, ws_closed_error = 0,
                  timeouts = 0, unsynchronised = 0;
    SessionCounters& operator+=(const SessionCounters& o);
};

class WebNtpSession {
public:
    using TimeSource = std::function<ServedTime()>;
    WebNtpSession(const SessionConfig& config, TimeSource time, std::int64_t now_ns);
    ~WebNtpSession();
    WebNtpSession(const WebNtpSession&) = delete;
    WebNtpSession& operator=(const WebNtpSession&) = delete;

    // Plaintext from the client; answers queue up for take_output().
    void feed(std::span<const std::byte> bytes, std::int64_t now_ns);
    std::vector<std::byte> take_output();
    bool has_output() const { return !out_.empty() || http_.has_output(); }
    // Nothing more will be read: close once take_output() has been sent.
    bool done() const { return done_ || http_.done(); }
    bool websocket() const { return ws_ != nullptr; }
    // Slow headers or idle too long (counted in counters().timeouts); a WebSocket gets a close
    // frame 1000 first (take_output), then done().
    bool expired(std::int64_t now_ns);
    // The client's end of input.
    void end_of_input();
    SessionCounters counters() const;
    // Why the connection was or will be closed by us (for -v logs); empty when it was not.
    const std::string& why() const { return why_.empty() ? http_.why() : why_; }

    struct WebSocket;  // wslay state

private:
    friend struct WsAccess;
    Response answer(const Request& rq);
    std::optional<Response> upgrade(const Request& rq);
    void ws_feed(std::span<const std::byte> bytes);
    void ws_message(int opcode, std::span<const std::byte> msg);
    void ws_flush();

    SessionConfig config_;
    TimeSource time_;
    ServerSession http_;
    std::unique_ptr<WebSocket> ws_;
    std::vector<std::byte> out_;  // WebSocket frames, after what http_ has to send
    std::int64_t now_ = 0;
    std::int64_t last_activity_ = 0;
    bool done_ = false;
    std::string why_;
    SessionCounters counters_;  // WebNTP's own; counters() adds the HTTP session's
};

// The Sec-WebSocket-Accept value for a Sec-WebSocket-Key (RFC 6455 §4.2.2).
std::string websocket_accept(std::string_view key);
// Whether a gorilla/websocket upgrader (go-webntp's) accepts this Origin for this Host.
bool same_origin(std::string_view origin, std::string_view host);
// Whether bytes are well-formed UTF-8 (no overlongs, surrogates or values over U+10FFFF).
bool valid_utf8(std::span<const std::byte> bytes);

}  // namespace timepipe::http
