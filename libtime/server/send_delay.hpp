// When each reply of a batch leaves. A server that reads a batch, builds every reply (reading
// the clock for each transmit timestamp T3) and then hands them all to one sendmmsg() stamps
// them early: the kernel sends one datagram after another (about a microsecond each on
// loopback), so without a correction the last of 32 replies carries a T3 some 30 µs before it
// left, and its client's offset is off by half of that. SendDelay learns the server's own
// costs and predicts, for each reply, the time from reading the clock to its departure:
// building the replies still to come in the batch, then sending the ones before it.
//
//   SendDelay d;
//   for (i = 0..n) T3 = clock.now() + d.until_departure(i, k, n);  // k: its place in the send
//   d.observe_build(n, build_ns);   d.observe_send(sent, send_ns);
//
// Every datagram after the first also waits for the send call's one-time work done with the
// first (on loopback: waking the receiving process), the intercept of that line.
// What is left is what a one-reply-per-call server (chronyd) has too: the system call's way
// from reading the clock to the first datagram. Interleaved mode does not need any of this:
// it sends the kernel's own transmit timestamp. Pure.
#pragma once

#include <cstddef>
#include <cstdint>

namespace timepipe {

class SendDelay {
public:
    // Building `replies` replies took `elapsed_ns`.
    void observe_build(std::size_t replies, std::int64_t elapsed_ns);
    // A send call took `elapsed_ns` for `datagrams` datagrams.
    void observe_send(std::size_t datagrams, std::int64_t elapsed_ns);

    // From reading the clock for reply `i` of `n` being built to its departure, as `k`-th
    // datagram (from 0) of the send that follows. 0 until something was observed.
    std::int64_t until_departure(std::size_t i, std::size_t k, std::size_t n) const;

    std::int64_t per_reply_ns() const { return static_cast<std::int64_t>(build_); }
    std::int64_t per_datagram_ns() const;
    std::int64_t per_call_ns() const;  // 0 while the sizes do not vary

    // A single call above this per datagram is a preemption or a page fault, not the send path.
    static constexpr std::int64_t kMaxPerDatagramNs = 20'000;

private:
    // Exponential averages (weight 1/16) of n, elapsed, n² and n·elapsed over send calls: the
    // slope of elapsed against n is the per-datagram cost without the per-call part (system
    // call, waking the receiver for the first datagram). While every call has the same n
    // (a saturated server sends full batches) the slope is undefined and the mean is used.
    double n_ = 0, e_ = 0, nn_ = 0, ne_ = 0;
    bool primed_ = false;
    double build_ = 0;  // per reply
    bool build_primed_ = false;
};

}  // namespace timepipe
