// When the k-th datagram of a sendmmsg() batch leaves. The kernel sends a batch one datagram
// after another (about a microsecond each on loopback), so a transmit timestamp read before
// the call is late-stamped by k of those for the k-th reply: with 32 replies in a batch the last
// one's T3 would be ~30 µs early, and its client's offset off by half of that. The server
// measures the per-datagram cost of its own sends and dates each reply at its expected
// departure, the same small error a one-datagram-per-call server (chronyd) has.
//
//   SendDelay d;
//   UnixNanos t3 = clock.now() + d.before(k);      // the k-th reply of this batch (k from 0)
//   auto t0 = monotonic_now(); sendmmsg(...n...); d.observe(n, monotonic_now() - t0);
//
// Pure. Interleaved mode does not need it (the kernel's own transmit stamp is sent there).
#pragma once

#include <cstddef>
#include <cstdint>

namespace timepipe {

class SendDelay {
public:
    // A send call took `elapsed_ns` for `datagrams` datagrams.
    void observe(std::size_t datagrams, std::int64_t elapsed_ns);
    // Expected time from the start of a send call to the departure of datagram `k` (0-based),
    // beyond the first one's: k × the per-datagram estimate.
    std::int64_t before(std::size_t k) const { return static_cast<std::int64_t>(k) * per_datagram_ns_; }
    std::int64_t per_datagram_ns() const { return per_datagram_ns_; }

    // A single sample above this is a preemption or a page fault, not the send path: clamped.
    static constexpr std::int64_t kMaxPerDatagramNs = 20'000;

private:
    std::int64_t per_datagram_ns_ = 0;
    bool primed_ = false;
};

}  // namespace timepipe
