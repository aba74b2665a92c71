// Stream connections on a libuv loop for a pure protocol session: accepts on bound TCP listeners,
// TLS (sys/tls, memory BIOs) when given a context, moves bytes between the socket and one
// ConnectionSession per connection, and bounds what a client may cost: connections at once,
// unsent output (a client that never reads is dropped), the TLS handshake's time, and whatever the
// session says has expired (a housekeeping timer asks every 250 ms).
//
//   ConnectionServer server(loop, {.max_connections = 64}, std::nullopt,
//                           [&](std::int64_t now) { return std::make_unique<MySession>(now); });
//   server.start(std::move(listeners));
//   server.on_close([&](ConnectionSession& s) { totals += counters_of(s); });
//
// Used by webntp-serve (HTTP/WebSocket) and time-metrics (HTTP).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"
#include "libtime/sys/event_loop.hpp"
#include "libtime/sys/tcp.hpp"
#include "libtime/sys/tls.hpp"

namespace timepipe {

// One connection's protocol, plaintext in and out (http::ServerSession, WebNtpSession, ...).
class ConnectionSession {
public:
    virtual ~ConnectionSession() = default;
    virtual void feed(std::span<const std::byte> plain, std::int64_t now_ns) = 0;
    virtual std::vector<std::byte> take_output() = 0;
    // Output queued without input (a timeout's reply, a WebSocket close): flushed by housekeeping.
    virtual bool has_output() const = 0;
    // Nothing more will be read: the connection closes once the output has been sent.
    virtual bool done() const = 0;
    // Asked every housekeeping tick; true: drop the connection now.
    virtual bool expired(std::int64_t now_ns) = 0;
    virtual void end_of_input() = 0;
    // Why the session ended the connection (for -v logs); empty when it did not.
    virtual std::string why() const = 0;
};

struct ConnectionLimits {
    std::size_t max_connections = 1024;
    std::size_t max_pending_bytes = 256 * 1024;         // unsent output
    std::int64_t tls_handshake_ns = 10 * kNanosPerSecond;
};

struct ConnectionCounters {
    std::uint64_t connections = 0, refused = 0, tls_failures = 0, handshake_timeouts = 0;
};

class ConnectionServer {
public:
    using Factory = std::function<std::unique_ptr<ConnectionSession>(std::int64_t now_ns)>;

    ConnectionServer(EventLoop& loop, ConnectionLimits limits, std::optional<TlsContext> tls, Factory factory);
    ~ConnectionServer();
    ConnectionServer(const ConnectionServer&) = delete;
    ConnectionServer& operator=(const ConnectionServer&) = delete;

    // Watches the listeners (already bound) and starts the housekeeping timer.
    Result<void> start(std::vector<TcpListener> listeners);
    // Called with each session as its connection goes (to keep its counters).
    void on_close(std::function<void(ConnectionSession&)> f) { on_close_ = std::move(f); }
    // Every live session (to add up counters).
    void for_each(const std::function<void(const ConnectionSession&)>& f) const;
    bool tls() const { return tls_.has_value(); }
    // Certificate and key read again (SIGHUP); on error the old ones stay.
    Result<void> reload_certificate();
    const ConnectionCounters& counters() const { return counters_; }
    std::size_t connections() const { return conns_.size(); }

private:
    struct Conn;
    void on_accept(std::size_t i);
    void on_conn(std::uint64_t id, FdEvents e);
    void flush(std::uint64_t id, Conn& c);
    void drop(std::uint64_t id, const std::string& why);
    void housekeeping();

    EventLoop& loop_;
    ConnectionLimits limits_;
    std::optional<TlsContext> tls_;
    Factory factory_;
    std::function<void(ConnectionSession&)> on_close_;
    std::vector<TcpListener> listeners_;
    std::vector<FdWatcher> watchers_;
    std::optional<Timer> housekeeping_;
    std::map<std::uint64_t, std::unique_ptr<Conn>> conns_;
    std::uint64_t next_id_ = 1;
    ConnectionCounters counters_;
};

}  // namespace timepipe
