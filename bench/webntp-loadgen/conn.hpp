// One keep-alive connection of webntp-loadgen: HTTP/1.1 (GET PATH?TS, one request at a time, no
// pipelining; responses parsed by llhttp) or WebSocket (RFC 6455 client handshake, then one
// masked text frame holding one number per message, framed by wslay; one reply awaited each).
//
//   auto c = WebNtpConn::open(addr, {.websocket = true, ...});   // Error: refused, bad handshake
//   auto r = c->exchange("1700000000.123456");                   // Error: the connection is done
//   if (r->ok) ...                                               // else r->why
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/socket_address.hpp"
#include "libtime/sys/tcp.hpp"

namespace timepipe::bench {

struct ConnOptions {
    bool websocket = false;
    std::string host;        // the Host header
    std::string path = "/";  // request target before '?'
    std::string subprotocol = "webntp.shogo82148.com";  // WebSocket; empty: none offered
    bool check_echo = false; // the reply must hold "it":TS, the timestamp sent (webntp only)
    std::chrono::nanoseconds timeout{std::chrono::seconds(1)};
};

// One answered exchange: ok, or why the reply does not count (status, missing echo, ...).
struct Exchange {
    bool ok = false;
    std::string why;
};

class WebNtpConn {
public:
    static Result<std::unique_ptr<WebNtpConn>> open(const SocketAddress& server, const ConnOptions& options);
    virtual ~WebNtpConn() = default;
    WebNtpConn(const WebNtpConn&) = delete;
    WebNtpConn& operator=(const WebNtpConn&) = delete;

    // Sends one request carrying `ts` and waits for its reply. An error means the connection
    // is unusable (closed, reset, timed out, unparsable stream): open a new one.
    virtual Result<Exchange> exchange(std::string_view ts) = 0;

protected:
    WebNtpConn() = default;
};

// Checks one reply body: a JSON object; with check_echo it holds "it":TS.
Exchange judge_body(std::string_view body, std::string_view ts, bool check_echo);

}  // namespace timepipe::bench
