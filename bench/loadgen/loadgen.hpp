// The NTP load generator behind ntp-loadgen: NTPv4 client requests against one server, spread
// over `sockets` UDP sockets (so a server that shares its port with SO_REUSEPORT spreads the
// load), moving datagrams in batches. Two modes:
//
//  - closed loop (rate 0): keeps `concurrency` requests outstanding; each reply sends the next.
//  - open loop (rate > 0): requests leave at times drawn in advance (Poisson: exponential gaps
//    of mean 1/rate from a PRNG seeded with `seed`), whatever the server does, as many
//    independent clients would send them. `concurrency` caps the requests outstanding: a
//    request whose time comes while all are out is skipped (counted, never delayed, never sent
//    later), and a lost one is not sent again — the next scheduled request simply goes out.
//
//   Config cfg{.server = addr, .concurrency = 64, .sockets = 4, .duration_ns = 5 * kNanosPerSecond};
//   auto stats = run_load(cfg, stop_flag);     // Result<Stats>: only setup errors fail
//
// Each request carries a unique transmit timestamp: the current time with its low 20 bits of
// fraction (244 µs) replaced by the slot number (12 bits) and a per-slot generation (8 bits),
// much as chrony randomises the bits below its precision. A reply is valid when it parses, is
// mode 4 and its origin timestamp is the transmit timestamp of a request still outstanding on
// that socket. A request unanswered after `timeout_ns` counts as lost (closed loop: and is sent
// again with a new timestamp); its reply, should it come later, counts as late.
//
// Transmit-timestamp lag: the sockets ask for kernel receive timestamps, and for every valid
// (non-KoD) reply with one, tx_lag = kernel receive time of the reply − the reply's transmit
// timestamp (T3). On loopback client and server share one clock and the reply is stamped on
// arrival as the server's send call hands it over, so tx_lag is how long after T3 the reply
// actually left the server: about a µs for a server that stamps each reply just before sending
// it, growing along the batch for one that stamps a whole batch and then sends it at once.
#pragma once

#include <csignal>
#include <cstdint>

#include "bench/loadgen/histogram.hpp"
#include "libtime/base/error.hpp"
#include "libtime/base/socket_address.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::bench {

inline constexpr unsigned kMaxConcurrency = 4096;  // 12 bits of slot number
inline constexpr unsigned kMaxSockets = 256;
inline constexpr unsigned kMaxSpreadSockets = 254;  // 127.0.0.1 .. 127.0.0.254

struct Config {
    SocketAddress server;
    unsigned concurrency = 64;
    unsigned sockets = 4;
    std::int64_t duration_ns = 5 * kNanosPerSecond;
    std::uint64_t requests = 0;  // exchanges to complete (valid + KoD); 0: until the duration ends
    std::int64_t timeout_ns = 200'000'000;
    // Bind socket i to 127.0.0.(i+1), so an IPv4 loopback server sees `sockets` clients, not one.
    bool spread_sources = false;
    // Open loop: requests per second offered on a Poisson schedule (0: closed loop, as fast as
    // replies come back). Send times do not depend on the replies, so the server is measured
    // at a known load, with arrivals it does not pace itself; `concurrency` is then a cap.
    double rate = 0;
    std::uint64_t seed = 1;  // the schedule's PRNG (open loop): the same seed, the same schedule
};

struct Stats {
    std::uint64_t sent = 0;       // datagrams sent, resends included
    std::uint64_t received = 0;   // datagrams received
    std::uint64_t valid = 0;      // mode 4, origin matched an outstanding request
    std::uint64_t kod = 0;        // kiss-o'-death with a matching origin
    std::uint64_t lost = 0;       // requests that timed out (closed loop: each was sent again)
    std::uint64_t late = 0;       // well-formed replies to no outstanding request
    std::uint64_t invalid = 0;    // did not parse, or not mode 4
    std::uint64_t refused = 0;    // ICMP port unreachable reported on a socket
    std::uint64_t outstanding = 0;  // requests still unanswered when the run stopped
    // Open loop: requests whose scheduled time came during the run, and those of them not sent
    // because `concurrency` requests were already outstanding. Every scheduled request is
    // skipped, valid, kod, lost or outstanding at the end.
    std::uint64_t scheduled = 0;
    std::uint64_t skipped = 0;
    double elapsed_s = 0;
    double cpu_user_s = 0;        // this process, over the run
    double cpu_sys_s = 0;
    // Open loop: time spent polling with a zero timeout just before a scheduled send (a timed
    // wait would have woken too late), part of the CPU time above; cpu - spin is the work.
    double spin_s = 0;
    LatencyHistogram latency;     // send → reply, ns, valid replies only
    // Kernel receive time of the reply − its transmit timestamp T3, ns, valid replies that
    // carried a kernel receive timestamp. Negative lags are counted, then recorded as 0.
    LatencyHistogram tx_lag;
    std::uint64_t tx_lag_negative = 0;
    // Open loop: how long after its scheduled time each request was handed to the kernel, ns
    // (the load generator's own lateness: wake-up latency, batching, a busy CPU).
    LatencyHistogram send_lag;
};

// Runs until the duration passes, `requests` exchanges complete, or `stop` becomes nonzero.
// Fails only when the sockets cannot be set up.
Result<Stats> run_load(const Config& cfg, const volatile std::sig_atomic_t& stop);

}  // namespace timepipe::bench
