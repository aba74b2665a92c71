// webntp-serve's connections: sys/connection_server (TCP or TLS on the libuv loop, limits) with a
// WebNtpSession (libtime/http) per connection, and the counters SIGUSR1 and the exit print.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libtime/http/webntp_session.hpp"
#include "libtime/sys/connection_server.hpp"

namespace webntp_serve {

struct Counters {
    timepipe::ConnectionCounters connections;
    timepipe::http::SessionCounters session;
    std::string line() const;
    // The same counters by name, for the status socket's stats record.
    std::map<std::string, std::uint64_t> map() const;
};

class Server {
public:
    Server(timepipe::EventLoop& loop, const timepipe::http::SessionConfig& config, std::size_t max_connections,
           std::optional<timepipe::TlsContext> tls, timepipe::http::WebNtpSession::TimeSource time);

    // Watches the listeners (already bound) and starts the housekeeping timer.
    timepipe::Result<void> start(std::vector<timepipe::TcpListener> listeners) { return server_.start(std::move(listeners)); }
    void reload_certificate();
    Counters counters() const;
    std::size_t connections() const { return server_.connections(); }

private:
    timepipe::ConnectionServer server_;
    timepipe::http::SessionCounters closed_;  // of the connections gone
};

}  // namespace webntp_serve
