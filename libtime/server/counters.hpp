// What an NTP server counts: one counter per outcome of a request, kept per worker thread and
// summed for SIGUSR1, the exit line and `stats` records.
//
//   ServerCounters c;                              // one per worker; only that thread bumps it
//   c.bump(Counter::received);                     // no lock, no atomic read-modify-write
//   CounterSnapshot total = c.snapshot();          // any thread: relaxed loads
//   total += other.snapshot();
//   log::warnx("%s", to_line(total).c_str());     // "received=10 answered=9 ... dropped_malformed=1"
//   Stats s{.counters = to_map(total)};            // the stream's stats record
//
// Each counter has exactly one writer, so bump() is a relaxed load and store: other threads see
// a value that is at most a few packets old, never a torn one.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace timepipe {

enum class Counter : std::uint8_t {
    received,           // datagrams read from a socket
    answered,           // normal responses sent (basic and interleaved)
    interleaved,        // ...of which interleaved (RFC 9769)
    kod_rate,           // Kiss-o'-Death RATE sent
    kod_deny,           // KoD DENY sent
    kod_rstr,           // KoD RSTR sent
    dropped_malformed,  // not an NTP packet (too short, bad version, bad extension fields)
    dropped_mode6,      // control (ntpq) requests: never answered
    dropped_mode7,      // private (ntpdc, monlist) requests: never answered
    dropped_mode,       // any other mode than client (3), or NTPv1 mode 0
    dropped_denied,     // refused by the access list, silently (or KoD suppressed by the limiter)
    dropped_rate,       // over the rate limit, silently
    send_errors,        // responses the kernel would not take
    tx_timestamps,      // kernel transmit timestamps read back (interleaved mode)
    wakeups,            // times a worker woke and read at least one datagram (received/wakeups:
                        // requests per wake-up, what --coalesce raises)
    nts,                // NTS responses sent (RFC 8915): answered includes them
    nts_nak,            // NTS NAKs sent: a cookie or authenticator that did not open
    dropped_nts,        // NTS requests malformed (not worth a NAK), silently
    kCount
};
inline constexpr std::size_t kCounterCount = static_cast<std::size_t>(Counter::kCount);

std::string_view to_string(Counter c);  // the names above

struct CounterSnapshot {
    std::array<std::uint64_t, kCounterCount> values{};
    std::uint64_t operator[](Counter c) const { return values[static_cast<std::size_t>(c)]; }
    CounterSnapshot& operator+=(const CounterSnapshot& o);
};

class ServerCounters {
public:
    void bump(Counter c, std::uint64_t n = 1) noexcept {
        auto& v = values_[static_cast<std::size_t>(c)];
        v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    // Takes back a bump: a response the responder counted that a later step (NTS) did not send.
    void undo(Counter c) noexcept {
        auto& v = values_[static_cast<std::size_t>(c)];
        v.store(v.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    }
    std::uint64_t get(Counter c) const noexcept {
        return values_[static_cast<std::size_t>(c)].load(std::memory_order_relaxed);
    }
    CounterSnapshot snapshot() const noexcept;

private:
    std::array<std::atomic<std::uint64_t>, kCounterCount> values_{};
};

// "received=10 answered=9 interleaved=0 ..." in enum order, every counter.
std::string to_line(const CounterSnapshot& s);
std::map<std::string, std::uint64_t> to_map(const CounterSnapshot& s);

}  // namespace timepipe
