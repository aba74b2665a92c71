#include "libtime/server/wakeup_moderation.hpp"

namespace timepipe {

// Linger when it pays: a timed wake-up costs about what a datagram's wake-up costs, so it is
// worth taking when at least two requests are expected in the linger time. Evidence of that:
// this wake-up found two or more, or it came less than half a linger after the previous one
// (arrivals at least every linger/2). A linger that finds fewer than two ends lingering, so a
// server whose load drops goes back to sleeping until the next datagram after one wake-up.
// Never while the server is behind (a socket not drained: sleeping would only delay work
// already there).
// Clients that each wait for their answer (a closed loop: a benchmark, a few busy clients)
// send their next requests right after our replies and then nothing: their lingers have a
// quiet second half. Independent clients (an open loop) rarely leave one at the rates where
// lingering starts, so a run of quiet lingers holds lingering off for a while.
void WakeupModeration::after_wakeup(const Wakeup& w) {
    if (linger_.count() <= 0) return;
    if (lingering_ && w.requests > 0) {  // the wake-up that ends a linger
        if (w.newest_age_ns > linger_.count() / 2)
            ++quiet_lingers_;
        else if (quiet_lingers_ > 0)
            --quiet_lingers_;
        if (quiet_lingers_ >= kQuietLingers) {
            hold_until_ = w.mono_ns + kHoldOffLingers * linger_.count();
            quiet_lingers_ = 0;
        }
    }
    bool frequent = w.requests > 0 && last_wakeup_ && w.mono_ns - *last_wakeup_ < linger_.count() / 2;
    lingering_ = w.mono_ns >= hold_until_ && w.drained && (w.requests >= 2 || frequent);
    if (w.requests > 0) last_wakeup_ = w.mono_ns;
}

std::optional<std::chrono::nanoseconds> WakeupModeration::next_wait() const {
    if (!lingering_) return std::nullopt;
    return linger_;
}

}  // namespace timepipe
