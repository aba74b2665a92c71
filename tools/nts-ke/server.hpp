// nts-ke --serve: the NTS-KE server (RFC 8915 §4) on a libuv loop — TLS 1.3 with ALPN ntske/1,
// one request and one response per connection, 8 cookies sealed with the current key of the
// key file every ntp-serve --nts-keys shares.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libtime/sys/tls.hpp"

namespace nts_ke {

struct ServeOptions {
    timepipe::TlsConfig tls;                   // cert_file, key_file, groups (alpn set by the server)
    std::string keys_file;                     // created (one key) if missing
    std::vector<std::string> listen;           // ADDR[:PORT]; default both wildcards at 4460
    std::optional<std::string> ntp_server;     // Server record; none: the client uses this host
    std::optional<std::uint16_t> ntp_port;     // Port record; none: 123
    std::chrono::nanoseconds timeout = std::chrono::seconds(5);  // a whole connection, accept to close
    std::size_t max_connections = 256;
    std::optional<std::chrono::nanoseconds> rotate;              // rotate the key file this often
    std::size_t keep = 2;
    // Called with the counters every 200 ms, from the loop's thread (nts-ke --status-socket).
    std::function<void(std::map<std::string, std::uint64_t>)> publish_counters;
};

// Runs until SIGTERM/SIGINT (exit 0). SIGHUP reloads certificate and key, SIGUSR1 logs counters.
int run_server(const ServeOptions& opt);

}  // namespace nts_ke
