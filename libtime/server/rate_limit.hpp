// Per-client request rate limiting for a server, in bounded memory, with no clock reads.
//
//   auto cfg = parse_rate_limit(optarg);               // "--rate-limit 0.125/8", "2", "off"
//   if (!cfg) log::fatalx(EX_USAGE, "--rate-limit: %s", cfg->error().what.c_str());
//   std::array<std::byte, 16> key;                     // secret, random per process:
//   randombytes_buf(key.data(), key.size());           //   (libsodium, after sodium_init())
//   RateLimiter limiter(*cfg, key);                    // allocates its table once, here
//   // per packet (no allocation, never throws):
//   switch (limiter.check(peer_bytes, monotonic_ns)) {
//     case RateDecision::Pass: answer normally; break;
//     case RateDecision::Kod:  answer with a KoD RATE no larger than the request; break;
//     case RateDecision::Drop: send nothing; break;
//   }
//   // SIGUSR1: limiter.stats()
//
// What it follows:
//  - RFC 8633 (NTP BCP) recommends that public servers limit the rate at which they answer any
//    one client and use Kiss-o'-Death RATE so well-behaved clients back off, and warns that KoD
//    packets can be spoofed and that NTP responses have been used for reflection/amplification.
//    So a KoD is never larger than the request (the caller's duty) and, past the first one, only
//    one limited request in 2^kod_shift gets one: a spoofed flood towards a victim earns it at
//    most the rate R of normal answers plus 1/2^kod_shift of the flood, each no larger than the
//    packet the attacker sent.
//  - chrony's `ratelimit interval/burst/leak` (clientlog.c): clients are keyed by address, allowed
//    a burst, then answered at a mean rate; limited requests are mostly dropped. chrony keeps a
//    table indexed by address; we keep a fixed one keyed by SipHash-2-4 of the masked address under
//    a per-process secret key, so nobody outside can choose addresses that collide (a
//    ClientTable, libtime/server/client_table.hpp, the same as the interleave table's).
//  - Clients are grouped by prefix (/32 IPv4, /64 IPv6 by default): one IPv6 host holds a whole
//    /64 and could otherwise take a fresh bucket per packet.
//
// The bucket is a token bucket written as GCRA ("theoretical arrival time"): one integer per
// client, refill is implicit in the time passed in. Burst B then a steady R/s; idle clients
// regain the full burst after B/R seconds.
//
// Memory is table_size entries (power of two, fixed at construction) in sets of kWays; a new
// client evicts the least recently seen entry of its set. Under a flood of many spoofed source
// addresses the table churns and forgotten clients start with a full burst again: per-client
// limiting bounds what one client gets, not the server's total output.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/server/client_table.hpp"

namespace timepipe {

struct RateLimitConfig {
    bool enabled = true;
    double rate = 0.125;          // requests/s answered per client in the long run (chrony: 1 per 8 s)
    std::uint32_t burst = 8;      // answered back to back after being quiet (chrony's default)
    std::uint32_t kod_shift = 3;  // once kissed, 1 limited request in 2^kod_shift gets a KoD
    std::size_t table_size = 65536;  // entries, power of two >= kWays; 32 bytes each
    int v4_prefix = 32;           // clients are keyed by their address masked to these
    int v6_prefix = 64;
};

// "R" or "R/BURST" (R requests per second, decimal, 0.001..1e6; BURST integer 1..1e6) or "off".
// Without BURST the burst is max(8, ceil(R)). Other fields are taken from `base`.
// Errors: "bad rate \"x\"", "bad burst \"0\"".
Result<RateLimitConfig> parse_rate_limit(std::string_view text, const RateLimitConfig& base = {});

enum class RateDecision : std::uint8_t { Pass, Kod, Drop };

class RateLimiter {
public:
    static constexpr std::size_t kWays = 8;  // entries per set: eviction is LRU within a set

    struct Stats {
        std::uint64_t passed = 0;
        std::uint64_t kod = 0;
        std::uint64_t dropped = 0;
        std::uint64_t new_clients = 0;   // lookups that found no entry
        std::uint64_t evictions = 0;     // ...and had to forget another client for it
        std::uint64_t bad_address = 0;   // spans neither 4 nor 16 bytes long (dropped)
    };

    // Out-of-range fields are clamped (table size rounded up to a power of two); use
    // check_rate_limit_config first to report them. The table is allocated here, once.
    RateLimiter(const RateLimitConfig& cfg, std::span<const std::byte, 16> key);

    // One request from `addr` (4 or 16 raw bytes; IPv4-mapped IPv6 counts as IPv4) at `now_ns`
    // on a monotonic clock. Time going backwards is tolerated (treated as no time passing).
    RateDecision check(std::span<const std::byte> addr, std::int64_t now_ns) noexcept;

    const Stats& stats() const noexcept { return stats_; }
    const RateLimitConfig& config() const noexcept { return cfg_; }
    std::size_t capacity() const noexcept { return table_.capacity(); }     // never changes
    std::size_t memory_bytes() const noexcept { return table_.memory_bytes(); }
    std::size_t clients() const noexcept { return table_.size(); }  // entries in use; O(table)

private:
    struct Bucket {
        std::int64_t tat = 0;       // GCRA theoretical arrival time, ns
        std::uint32_t limited = 0;  // limited requests since the bucket last refilled
    };

    RateLimitConfig cfg_;
    std::int64_t interval_ns_ = 0;   // 1/R
    std::int64_t tolerance_ns_ = 0;  // (B-1)/R
    // Keyed by the masked address; an entry's use stamp is when the client was last seen (ns).
    ClientTable<Bucket, kWays> table_;
    Stats stats_{};
};

// Is `cfg` usable? (power-of-two table, ranges). parse_rate_limit results always are.
Result<void> check_rate_limit_config(const RateLimitConfig& cfg);

}  // namespace timepipe
