// One ntp-serve worker: a thread with its own event loop, its own socket per listen address
// (SO_REUSEPORT when there are several workers), rate limiter, interleave table and counters.
// Everything it shares with the main thread is in Shared, read once per batch.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "libtime/server/responder.hpp"
#include "libtime/server/rate_limit.hpp"
#include "libtime/server/counters.hpp"
#include "libtime/sys/socket.hpp"
#include "libtime/server/upstream_reference.hpp"
#include "libtime/nts/cookie.hpp"

namespace timepipe::serve {

// What the main thread publishes: bump `generation` after changing anything under `mu`.
struct Shared {
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> generation{0};
    std::mutex mu;
    std::shared_ptr<const AccessPolicy> policy;  // under mu
    std::optional<UpstreamReference> upstream;        // under mu; nullopt: no --upstream
    std::shared_ptr<const nts::CookieKeys> nts_keys;  // under mu; null: no --nts-keys
};

struct WorkerConfig {
    ntp::ResponderConfig responder;
    RateLimitConfig rate_limit;
    std::optional<std::uint8_t> stratum;  // local clock at this stratum (also the fallback)
    std::size_t interleave_capacity = 16384;
    std::chrono::nanoseconds coalesce{std::chrono::microseconds(250)};  // WakeupModeration's linger
};

class Worker {
public:
    Worker(std::vector<UdpSocket> sockets, const WorkerConfig& config, Shared& shared);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Runs the loop until shared.stop is set (exits the process if the loop cannot start).
    // Called on the worker's own thread.
    void run();
    const ServerCounters& counters() const { return counters_; }

private:
    struct Impl;
    ServerCounters counters_;  // before impl_, which refers to it
    std::unique_ptr<Impl> impl_;
};

}  // namespace timepipe::serve
