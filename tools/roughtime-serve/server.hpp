// roughtime-serve's I/O loop: requests from UDP sockets and TCP connections gathered into
// batches, each batch answered by roughtime::Responder (one Merkle tree, one signature per
// version), the online key replaced on the RotationSchedule between batches. One thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "libtime/base/crypto.hpp"
#include "libtime/sys/event_loop.hpp"
#include "libtime/sys/socket.hpp"
#include "libtime/sys/tcp.hpp"
#include "libtime/server/upstream_reference.hpp"

namespace timepipe::rtserve {

struct Counters {
    std::uint64_t received = 0;                // requests read (datagrams, TCP packets)
    std::uint64_t answered = 0;                // responses sent
    std::uint64_t dropped_short = 0;           // under 1024 octets
    std::uint64_t dropped_malformed = 0;       // not a request (and TCP streams that are not framed)
    std::uint64_t dropped_version = 0;         // no version in common
    std::uint64_t dropped_srv = 0;             // SRV names another long-term key
    std::uint64_t dropped_too_large = 0;       // the response would be larger than the request
    std::uint64_t dropped_oversized = 0;       // requests longer than we read
    std::uint64_t dropped_unsynchronised = 0;  // --upstream unsynchronised
    std::uint64_t send_errors = 0;             // responses the kernel would not take
    std::uint64_t tcp_connections = 0;         // accepted
    std::uint64_t tcp_refused = 0;             // closed at once: too many open
    std::uint64_t batches = 0;                 // signed batches
    std::uint64_t online_keys = 0;             // online keys made (the first one and rotations)
    std::uint64_t signatures = 0;              // SREPs signed: one per version answered in a batch
    // Responses sent per version: RFC 10049, drafts 12-19, 11, 08, Google-Roughtime.
    std::uint64_t answered_rfc = 0, answered_draft12 = 0, answered_draft11 = 0, answered_draft08 = 0,
                  answered_google = 0;
    // Every counter by its name, in the order line() writes them (the `stats` record's counters).
    std::map<std::string, std::uint64_t> map() const;
    std::string line() const;                  // "received=3 answered=2 ..."
};

struct ServerConfig {
    std::size_t batch_size = 64;
    std::int64_t batch_delay_ns = 1'000'000;
    std::int64_t radius_ns = 3'000'000'000;
    std::int64_t offset_ns = 0;
    std::int64_t online_validity_ns = 0;
    bool google = true;
};

class Server {
public:
    // `upstream`, when not null, is read before each batch (owned by the caller, same thread).
    Server(EventLoop& loop, crypto::Ed25519KeyPair long_term, const ServerConfig& config,
           std::vector<UdpSocket> udp, std::vector<TcpListener> tcp, const UpstreamReference* upstream);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Watches the sockets and makes the first online key; exits the process if it cannot.
    void start();
    const Counters& counters() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace timepipe::rtserve
