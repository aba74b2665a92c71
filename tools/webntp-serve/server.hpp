// webntp-serve's connections on a libuv loop: TCP or TLS in, WebNtpSession (libtime/http) for the
// protocol, limits on connections and on how long a connection may dawdle.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libtime/http/webntp_session.hpp"
#include "libtime/sys/event_loop.hpp"
#include "libtime/sys/tcp.hpp"
#include "libtime/sys/tls.hpp"

namespace webntp_serve {

struct Counters {
    std::uint64_t connections = 0, refused = 0, tls_failures = 0;
    timepipe::http::SessionCounters session;
    std::string line() const;
};

class Server {
public:
    Server(timepipe::EventLoop& loop, const timepipe::http::SessionConfig& config, std::size_t max_connections,
           std::optional<timepipe::TlsContext> tls, timepipe::http::WebNtpSession::TimeSource time);
    ~Server();

    // Watches the listeners (already bound) and starts the housekeeping timer.
    timepipe::Result<void> start(std::vector<timepipe::TcpListener> listeners);
    void reload_certificate();
    Counters counters() const;
    std::size_t connections() const { return conns_.size(); }

private:
    struct Conn;
    void on_accept(std::size_t i);
    void on_conn(std::uint64_t id, timepipe::FdEvents e);
    void on_plain(std::uint64_t id, Conn& c, std::span<const std::byte> plain);
    void flush(std::uint64_t id, Conn& c);
    void drop(std::uint64_t id, const std::string& why);
    void housekeeping();

    timepipe::EventLoop& loop_;
    timepipe::http::SessionConfig config_;
    std::size_t max_connections_;
    std::optional<timepipe::TlsContext> tls_;
    timepipe::http::WebNtpSession::TimeSource time_;
    std::vector<timepipe::TcpListener> listeners_;
    std::vector<timepipe::FdWatcher> watchers_;
    std::optional<timepipe::Timer> housekeeping_;
    std::map<std::uint64_t, std::unique_ptr<Conn>> conns_;
    std::uint64_t next_id_ = 1;
    Counters counters_;
};

}  // namespace webntp_serve
