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
//       std::size_t n = read_and_answer_everything();
//       m.after_wakeup(n, monotonic_now());
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

class WakeupModeration {
public:
    // linger 0: never linger (every wake-up waits for the next datagram).
    explicit WakeupModeration(std::chrono::nanoseconds linger) : linger_(linger) {}

    // After a wake-up (either kind) that read `requests` datagrams at `mono_ns` (CLOCK_MONOTONIC);
    // `drained`: every socket was read until it was empty.
    void after_wakeup(std::size_t requests, std::int64_t mono_ns, bool drained);

    // A wake-up that reads this many is a server at its limit: no lingering then.
    static constexpr std::size_t kFull = 32;

    // How long to sleep before reading again without waiting for a datagram; nullopt: wait for one.
    std::optional<std::chrono::nanoseconds> next_wait() const;

    std::chrono::nanoseconds linger() const { return linger_; }

private:
    std::chrono::nanoseconds linger_;
    std::optional<std::int64_t> last_wakeup_;
    bool lingering_ = false;
};

}  // namespace timepipe
