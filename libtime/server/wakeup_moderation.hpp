// Interrupt moderation for a UDP server, the way a NIC coalesces interrupts: when requests come
// often, sleep a fixed short time and then read everything that arrived, instead of waking for
// every datagram. Each wake-up costs a context switch, a timer and (in a VM) exits to the
// hypervisor — at 50 000 requests/s those cost more than answering — so a busy server reads many
// requests per wake-up, and an idle one still sleeps until the next datagram.
//
//   WakeupModeration m(std::chrono::microseconds(100));
//   for (;;) {
//       if (auto linger = m.next_wait()) sleep_for(*linger);   // busy: let requests gather
//       else wait_any(sockets, housekeeping);                  // quiet: wake on the next one
//       Wakeup w = read_and_answer_everything();               // how many, drained, newest age
//       w.mono_ns = monotonic_now();
//       m.after_wakeup(w);
//   }
//
// A reply waits at most `linger` longer. The server's transmit timestamp is taken when the reply
// is built, after the wait, so what a client measures (offset, and delay without the server's
// residence time) does not change. Pure: the caller sleeps and reads the clock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace timepipe {

// What one wake-up (either kind) found.
struct Wakeup {
    std::size_t requests = 0;        // datagrams read
    std::int64_t mono_ns = 0;        // when (CLOCK_MONOTONIC)
    bool drained = true;             // every socket was read until it was empty
    std::int64_t newest_age_ns = 0;  // how long before this the newest request arrived
};

class WakeupModeration {
public:
    // linger 0: never linger (every wake-up waits for the next datagram).
    explicit WakeupModeration(std::chrono::nanoseconds linger) : linger_(linger) {}

    void after_wakeup(const Wakeup& w);

    // This many lingers in a row (net) whose requests all came in their first half mean the
    // clients wait for our answers before asking again: lingering only slows them down.
    static constexpr int kQuietLingers = 3;
    // ...so stop lingering for this many lingers' time, then try again.
    static constexpr int kHoldOffLingers = 100;

    // How long to sleep before reading again without waiting for a datagram; nullopt: wait for one.
    std::optional<std::chrono::nanoseconds> next_wait() const;

    std::chrono::nanoseconds linger() const { return linger_; }

private:
    std::chrono::nanoseconds linger_;
    std::optional<std::int64_t> last_wakeup_;
    bool lingering_ = false;
    int quiet_lingers_ = 0;
    std::int64_t hold_until_ = 0;  // CLOCK_MONOTONIC; 0: not holding off
};

}  // namespace timepipe
