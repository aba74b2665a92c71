// The skeleton both load generators share (ntp-loadgen, roughtime-loadgen): `concurrency`
// request slots spread over connected UDP sockets, datagrams moved in batches (recvmmsg /
// sendmmsg), timeouts swept every few milliseconds, and this process's CPU time measured.
// What a request is and how a reply is matched to its slot is the protocol's: a subclass
// writes requests into its slots and recognises replies. Two modes:
//
//  - closed loop (rate 0): keeps `concurrency` requests outstanding; each reply sends the next,
//    and a request unanswered after `timeout_ns` is lost and sent again, anew.
//  - open loop (rate > 0): requests leave at times drawn in advance (Poisson: exponential gaps
//    of mean 1/rate from a PRNG seeded with `seed`), whatever the server does, as many
//    independent clients would send them. `concurrency` caps the requests outstanding: a
//    request whose time comes while all are out is skipped (counted, never delayed, never sent
//    later), and a lost one is not sent again — the next scheduled request simply goes out.
//
//   class NtpLoad final : public LoadEngine { ... refresh(), match(), answered() ... };
//   NtpLoad g(shape, server, std::move(sockets), stats);  g.run(stop_flag);
#pragma once

#include <csignal>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "bench/loadcore/histogram.hpp"
#include "libtime/base/socket_address.hpp"
#include "libtime/base/unix_time.hpp"
#include "libtime/sys/socket.hpp"

namespace timepipe::bench {

inline constexpr unsigned kMaxConcurrency = 4096;  // NTP: 12 bits of slot number in a timestamp
inline constexpr unsigned kMaxSockets = 256;

// How much load, for how long.
struct LoadShape {
    unsigned concurrency = 64;
    std::int64_t duration_ns = 5 * kNanosPerSecond;
    std::uint64_t requests = 0;  // exchanges to complete; 0: until the duration ends
    std::int64_t timeout_ns = 200'000'000;
    double rate = 0;             // open loop: requests per second offered; 0: closed loop
    std::uint64_t seed = 1;      // the open-loop schedule's PRNG: the same seed, the same schedule
};

// What every load generator counts; each adds its protocol's own figures.
struct LoadCounters {
    std::uint64_t sent = 0;         // datagrams sent, resends included
    std::uint64_t received = 0;     // datagrams received
    std::uint64_t valid = 0;        // replies that answered a request in flight
    std::uint64_t lost = 0;         // requests that timed out (closed loop: each was sent again)
    std::uint64_t late = 0;         // well-formed replies to no request in flight
    std::uint64_t invalid = 0;      // replies that do not parse, or are not replies
    std::uint64_t refused = 0;      // ICMP port unreachable reported on a socket
    std::uint64_t outstanding = 0;  // requests still unanswered when the run stopped
    // Open loop: requests whose scheduled time came during the run, and those of them not sent
    // because `concurrency` requests were already outstanding.
    std::uint64_t scheduled = 0;
    std::uint64_t skipped = 0;
    // Replies the kernel dropped at this process's own sockets (full receive buffers): the
    // part of `lost` that is the load generator's, not the server's.
    std::uint64_t dropped_here = 0;
    double elapsed_s = 0;
    double cpu_user_s = 0;          // this process, over the run
    double cpu_sys_s = 0;
    // Open loop: time spent polling with a zero timeout just before a scheduled send (a timed
    // wait would have woken too late), part of the CPU time above; cpu - spin is the work.
    double spin_s = 0;
    LatencyHistogram latency;       // send → reply, ns, valid replies only
    // Open loop: how long after its scheduled time each request was handed to the kernel, ns.
    LatencyHistogram send_lag;
};

// This process's CPU time so far, user and system, in seconds.
struct CpuTime {
    double user = 0, sys = 0;
};
CpuTime process_cpu_time();

class LoadEngine {
public:
    LoadEngine(const LoadShape& shape, SocketAddress server, std::vector<UdpSocket> sockets, LoadCounters& counters);
    virtual ~LoadEngine() = default;
    LoadEngine(const LoadEngine&) = delete;
    LoadEngine& operator=(const LoadEngine&) = delete;

    // Runs until the duration passes, `requests` exchanges complete, or `stop` becomes nonzero.
    void run(const volatile std::sig_atomic_t& stop);

protected:
    // What a reply is to the engine: the slot it answers, or why it answers none.
    struct Match {
        enum class Kind { Answer, Late, Invalid } kind = Kind::Invalid;
        std::uint32_t slot = 0;
    };
    // Writes a fresh, never-sent request into slot i; the bytes stay valid until the next call
    // for i. Called for every send, resends included.
    virtual std::span<const std::byte> refresh(std::uint32_t slot) = 0;
    // Which slot a reply answers (checked by the protocol: its identity is the request's
    // current one), Late when it names a request no longer current, Invalid when it is not a
    // reply at all. The engine then checks the slot is in flight on the socket it came on.
    virtual Match match(const RxSlot& reply) = 0;
    // A reply completed slot i's exchange. True when it counts as valid (latency recorded),
    // false when it completed it otherwise (e.g. an NTP kiss-o'-death, counted by the protocol).
    virtual bool answered(std::uint32_t slot, const RxSlot& reply) = 0;

    std::uint32_t socket_of(std::uint32_t slot) const { return slot % static_cast<std::uint32_t>(socks_.size()); }

private:
    struct Slot {
        std::span<const std::byte> request;  // the protocol's bytes for the request in flight
        std::int64_t sent_at = 0;            // CLOCK_MONOTONIC ns when it was queued
        bool in_flight = false;
        bool queued = false;                 // in its socket's pending list
    };
    struct Sock {
        UdpSocket socket;
        std::vector<std::uint32_t> pending;  // slots whose request is ready but not yet sent
    };

    bool open_loop() const { return shape_.rate > 0; }
    bool done() const { return shape_.requests != 0 && completed_ >= shape_.requests; }
    bool may_issue() const { return shape_.requests == 0 || issued_ < shape_.requests; }
    void issue(std::uint32_t i, std::int64_t now_mono);
    void drain(std::uint32_t si);
    void handle(std::uint32_t si, const RxSlot& rx, std::int64_t now_mono);
    void offer(std::int64_t now_mono);
    std::uint32_t take_slot();
    void release_slot(std::uint32_t i);
    void sweep(std::int64_t now_mono);
    void flush(std::uint32_t si);
    void flush_all();

    const LoadShape shape_;
    const SocketAddress server_;
    std::vector<Sock> socks_;
    std::vector<Slot> slots_;
    LoadCounters& stats_;
    std::uint64_t issued_ = 0;
    std::uint64_t completed_ = 0;            // valid or otherwise completed (KoD)
    std::int64_t start_ = 0, deadline_ = 0;  // CLOCK_MONOTONIC ns
    // Open loop: free slots per socket, the socket the next request tries first, and the
    // schedule: the next request's send time, ns after start_.
    std::vector<std::vector<std::uint32_t>> free_;
    std::size_t free_count_ = 0;
    std::size_t next_socket_ = 0;
    std::mt19937_64 rng_;
    std::exponential_distribution<double> gap_;  // ns, mean 1e9 / rate
    double next_at_ = 0;
    std::int64_t spin_ns_ = 0;
    std::int64_t wake_latency_ = 0;  // ns a timed wait ends after its expiry (median estimate)
    std::vector<std::vector<std::byte>> rxbuf_;
};

}  // namespace timepipe::bench
