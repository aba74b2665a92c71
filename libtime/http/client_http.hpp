// The client side of WebNTP over HTTP and WebSocket, pure over bytes: URL parsing, the GET and
// WebSocket-upgrade requests, and HTTP/1.1 responses parsed by llhttp (HTTP_RESPONSE mode).
// The caller owns the socket (and TLS); see tools/webntp-query.
//
//   auto url = parse_web_url("https://time.example.net/json");   // scheme, host, port, target
//   std::string req = get_request(*url, "1700000000.123457");     // "GET /json?1700000000.123457 HTTP/1.1..."
//   HttpResponseParser p;
//   while (...) { auto r = p.feed(bytes_from_socket); if (!r) fail; if (*r) break; }
//   p.status(); p.header("content-type"); p.body(); p.leftover();
//
// Errors are one line: "HTTP response: invalid status code" (EX_PROTOCOL).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/error.hpp"

namespace timepipe::http {

struct WebUrl {
    std::string scheme;     // "http", "https", "ws", "wss"
    std::string host;       // without brackets: "::1", "example.net"
    std::uint16_t port = 0; // the URL's, or the scheme's default (80, 443)
    std::string target;     // path and query: "/json", "/?x=1" ("/" when the URL has none)
    bool tls() const { return scheme == "https" || scheme == "wss"; }
    bool websocket() const { return scheme == "ws" || scheme == "wss"; }
    std::string host_header() const;   // "example.net", "example.net:8080", "[::1]:8080"
    std::string text() const;          // the canonical URL
};

// scheme://host[:port][/path][?query]. No user info, no fragment. Errors: EX_USAGE.
Result<WebUrl> parse_web_url(std::string_view text);

// GET of the URL with `query` (the client's timestamp) appended as go-webntp servers read it:
// "?ts", or "&ts" after the URL's own query; keep-alive.
std::string get_request(const WebUrl& url, std::string_view query);

// The WebSocket upgrade (RFC 6455 §4.1) offering go-webntp's subprotocol. `key` is the base64 of
// 16 random bytes.
std::string websocket_upgrade_request(const WebUrl& url, std::string_view key);
// The Sec-WebSocket-Accept a server must answer to `key`: base64(SHA-1(key + GUID)).
std::string expected_websocket_accept(std::string_view key);

// One measurement: offset = st - (t_send + t_recv) / 2, delay = t_recv - t_send (nanoseconds).
struct WebNtpSample {
    std::int64_t offset = 0;
    std::int64_t delay = 0;
    bool operator==(const WebNtpSample&) const = default;
};
WebNtpSample measure(std::int64_t t_send, std::int64_t t_recv, std::int64_t server_time);

// go-webntp's averaging: samples whose delay is at least twice the smallest are dropped (a
// retransmission, a queue), the rest averaged (offset and delay). nullopt for no samples.
// `kept` (optional) receives how many were averaged.
std::optional<WebNtpSample> combine_samples(std::span<const WebNtpSample> samples, std::size_t* kept = nullptr);

// One HTTP/1.1 response at a time. Limits: 16 KiB of header, 64 KiB of body.
class HttpResponseParser {
public:
    HttpResponseParser();
    ~HttpResponseParser();
    HttpResponseParser(const HttpResponseParser&) = delete;
    HttpResponseParser& operator=(const HttpResponseParser&) = delete;

    // true once the response is complete (for 101 Switching Protocols: once its head is);
    // bytes after it are in leftover().
    Result<bool> feed(std::span<const std::byte> bytes);
    Result<bool> feed(std::string_view bytes);
    // The peer closed: completes a response delimited by EOF, or fails ("truncated").
    Result<bool> finish();
    // Forgets the response, ready for the next one on the same connection.
    void reset();

    bool complete() const;
    int status() const;
    // Header value by name (case-insensitive); the last one when repeated.
    std::optional<std::string> header(std::string_view name) const;
    const std::string& body() const;
    const std::string& leftover() const;
    // Whether the server keeps the connection open after this response.
    bool keep_alive() const;

    struct State;  // llhttp's parser and what its callbacks collected

private:
    std::unique_ptr<State> s_;
};

}  // namespace timepipe::http
