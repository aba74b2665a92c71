// The server side of one HTTP/1.1 connection as pure protocol: plaintext bytes from the client in,
// bytes for the client out, no sockets (libtime/sys/connection_server moves bytes between this and
// TCP or TLS). llhttp parses; each complete request goes to a handler that returns the response.
//
//   ServerSession s(config, [](const Request& r) { return Response::text(200, "hello\n"); }, now);
//   s.feed(plain, monotonic_now());        // answers queue up, in request order (pipelining)
//   send(s.take_output());
//   if (s.done()) close_after_flush();     // an error reply, Connection: close, end of input
//   if (s.expired(monotonic_now())) drop(); // idle keep-alive (a 408 goes out first for slow headers)
//
// The session answers by itself, and closes after: malformed HTTP 400; request line and headers
// over max_header_bytes 431; a body over max_body_bytes 413; headers not complete within
// header_timeout 408; more than max_rate requests in one second 429; a method not in `methods`
// 405 with Allow. A response with `close` (Response::text and ::error set it from 400 up), or a
// request without keep-alive, ends the connection after it. HEAD gets the GET response's headers
// without its body; 1xx and 204 carry no Content-Length. The header limit counts the request's
// bytes from its first to its blank line, so 431 falls on the same byte however input is split.
// Upgrades: with an upgrade hook, a request with "Connection: upgrade" and an Upgrade header goes
// to the hook first; a 101 from it ends HTTP on this connection (upgraded(); the bytes after the
// request are in take_leftover()); nullopt: handled as an ordinary request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libtime/base/unix_time.hpp"

namespace timepipe::http {

struct ServerConfig {
    std::size_t max_header_bytes = 8192;  // request line and headers
    std::size_t max_body_bytes = 65536;
    unsigned max_rate = 100;              // requests per second per connection
    std::int64_t header_timeout_ns = 10 * kNanosPerSecond;  // a request's headers, first byte to end
    std::int64_t idle_timeout_ns = 60 * kNanosPerSecond;    // between requests (keep-alive)
    std::vector<std::string> methods = {"GET", "HEAD"};     // others: 405
};

struct Request {
    std::string method;  // "GET"
    std::string target;  // "/metrics?x", as sent
    std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent
    std::string body;
    bool keep_alive = true;  // HTTP/1.1 without "Connection: close", or 1.0 with keep-alive

    // The first value of a header (names compared case-insensitively); empty when absent.
    std::string header(std::string_view name) const;
    // Every value of a header joined with ",", as RFC 9110 §5.3 allows for list-valued ones.
    std::string header_list(std::string_view name) const;
    // The target without its query.
    std::string_view path() const;
};

struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;  // Content-Length is added
    std::string body;
    bool close = false;  // close the connection after this response

    // text/plain; charset=utf-8; a status of 400 or more closes.
    static Response text(int status, std::string body);
    // An error reply as every tool words it: one line of reason, then the connection closes.
    static Response error(int status, std::string_view reason);
};

struct ServerCounters {
    std::uint64_t requests = 0, bad_requests = 0, headers_too_large = 0, body_too_large = 0,
                  rate_limited = 0, timeouts = 0;
    ServerCounters& operator+=(const ServerCounters& o);
};

class ServerSession {
public:
    using Handler = std::function<Response(const Request&)>;
    using UpgradeHook = std::function<std::optional<Response>(const Request&)>;

    ServerSession(ServerConfig config, Handler handler, std::int64_t now_ns, UpgradeHook upgrade = {});
    ~ServerSession();
    ServerSession(const ServerSession&) = delete;
    ServerSession& operator=(const ServerSession&) = delete;

    void feed(std::span<const std::byte> bytes, std::int64_t now_ns);
    std::vector<std::byte> take_output();
    bool has_output() const { return !out_.empty(); }
    // Nothing more will be answered: close once take_output() has been sent.
    bool done() const { return done_; }
    // A slow request's headers (408 queued, then done()) or idle too long (true: drop now).
    bool expired(std::int64_t now_ns);
    // The client's end of input.
    void end_of_input();
    // The upgrade hook answered 101: HTTP is over on this connection.
    bool upgraded() const { return upgraded_; }
    // The bytes that followed the upgrade request (the upgraded protocol's first bytes).
    std::vector<std::byte> take_leftover() { return std::exchange(leftover_, {}); }
    // A request-per-second budget shared with the upgraded protocol's messages (WebSocket).
    bool rate_ok(std::int64_t now_ns);
    const ServerCounters& counters() const { return counters_; }
    // Why the connection was or will be closed by us (for -v logs); empty when it was not.
    const std::string& why() const { return why_; }

    struct Parser;  // llhttp state

private:
    void on_request();
    void respond(const Response& r, bool head, bool keep_alive);
    void reply_error(int status, std::string_view reason);
    void append(std::string_view s);

    ServerConfig config_;
    Handler handler_;
    UpgradeHook upgrade_;
    std::unique_ptr<Parser> parser_;
    std::vector<std::byte> out_;
    std::vector<std::byte> leftover_;
    std::int64_t now_ = 0;
    std::int64_t last_activity_ = 0;
    std::optional<std::int64_t> request_started_;  // first byte of a request whose headers are incomplete
    std::int64_t rate_window_ = 0;
    unsigned rate_count_ = 0;
    bool done_ = false;
    bool upgraded_ = false;
    std::string why_;
    ServerCounters counters_;
};

// The reason phrase of a status code ("Not Found").
const char* status_text(int status);
// Whether a comma-separated header value lists `token` (case-insensitively).
bool has_token(std::string_view list, std::string_view token);
bool iequals(std::string_view a, std::string_view b);

}  // namespace timepipe::http
