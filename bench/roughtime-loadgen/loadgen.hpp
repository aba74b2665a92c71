// The closed-loop Roughtime load generator behind roughtime-loadgen: keeps `concurrency` real
// requests outstanding against one server, spread over `sockets` connected UDP sockets (the
// loop is bench/loadcore/engine.hpp's), and proves a sample of the answers correct with
// libtime's verify_response.
//
//   Config cfg;  cfg.server = addr;  cfg.server_key = pk;  cfg.versions = {Version::Rfc};
//   auto stats = run_load(cfg, stop_flag);     // Result<Stats>: only setup errors fail
//
// Requests: each slot (one per outstanding request) holds a request built once by
// roughtime::build_request, with SRV naming `server_key`. Before each send the first 12 octets
// of its nonce are rewritten in place, a run-wide sequence number (8 octets) and the slot
// number (4); the other 20 stay random. So every nonce of a run is unique and the generator
// does no building, hashing or allocation per request.
//
// Replies: matched by their NONC (roughtime-serve echoes it in every version): a reply is
// valid when NONC names a slot whose request is in flight on that socket and equals its nonce.
// A request unanswered after `timeout_ns` counts as lost and is sent again with a new nonce; a
// reply to a nonce no longer in flight is late; one that does not parse or has no NONC of the
// right size is invalid. Matching checks no signature: that is what verification is for.
//
// Verification, so "correct" is proven rather than assumed:
//   - inline: about every `verify_every`-th valid reply (the gap drawn at random between 1 and
//     2K-1, so the sample does not lock onto one position in the server's batches) is checked
//     at once with verify_response against the exact request bytes sent; 0 turns it off;
//   - at the end: a uniform random sample (reservoir) of `sample` valid replies, stored with
//     their requests during the run, is verified after the load stops, and timed: that is the
//     client's verification time per response.
#pragma once

#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/loadcore/engine.hpp"
#include "libtime/base/crypto.hpp"
#include "libtime/base/error.hpp"
#include "libtime/roughtime/version.hpp"
#include "libtime/base/socket_address.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::bench::rt {

inline constexpr unsigned kMaxConcurrency = bench::kMaxConcurrency;
inline constexpr unsigned kMaxSockets = bench::kMaxSockets;
inline constexpr unsigned kMaxSample = 100'000;

struct Config : LoadShape {
    Config() {
        concurrency = 128;
        timeout_ns = 500'000'000;
    }
    SocketAddress server;
    crypto::PublicKey server_key{};
    std::vector<roughtime::Version> versions;  // offered in every request
    unsigned sockets = 4;
    unsigned verify_every = 64;  // 0: no inline verification
    unsigned sample = 512;       // replies kept for the final verification pass; 0: none
};

struct Stats : LoadCounters {
    std::uint64_t verified = 0;     // inline verifications that passed
    std::uint64_t failed = 0;       // inline verifications that failed
    std::uint64_t sample_verified = 0;  // final pass
    std::uint64_t sample_failed = 0;
    double verify_s = 0;            // wall time of the final pass
    double verify_cpu_s = 0;        // CPU time of the final pass
    std::string first_failure;      // "SREP signature does not verify", ... ("" if none)
};

// Runs until the duration passes, `requests` valid replies arrive, or `stop` becomes nonzero,
// then verifies the stored sample. Fails only when the requests or sockets cannot be set up.
Result<Stats> run_load(const Config& cfg, const volatile std::sig_atomic_t& stop);

}  // namespace timepipe::bench::rt
