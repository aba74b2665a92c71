// hwts-probe's live probe: NTP requests to one server on a socket with SO_TIMESTAMPING, and
// every stamp that came back for each (libtime/stream/timestamp_probe.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/socket_address.hpp"
#include "libtime/stream/timestamp_probe.hpp"

namespace hwts {

struct ProbeOptions {
    timepipe::SocketAddress server;
    std::string source;                  // "ntp://127.0.0.1:123"
    std::optional<std::string> interface;
    bool hardware = false;               // ask for the NIC's stamps too
    int count = 4;
    std::chrono::nanoseconds timeout = std::chrono::seconds(1);   // per request
    std::chrono::nanoseconds interval = std::chrono::milliseconds(200);
};

// One socket, one request at a time. probe() returns what came back within the timeout (no
// reply: no user_rx); errors are the socket's (EX_OSERR) or a refused port (EX_UNAVAILABLE).
class Prober {
public:
    static timepipe::Result<Prober> open(const ProbeOptions& options);
    timepipe::Result<timepipe::TimestampProbe> probe(std::int64_t seq);
    bool hardware_granted() const;
    Prober(Prober&&) noexcept;
    Prober& operator=(Prober&&) noexcept;
    ~Prober();

private:
    struct State;
    explicit Prober(std::unique_ptr<State> s);
    std::unique_ptr<State> s_;
};

}  // namespace hwts
