#include "libtime/wakeup_moderation.hpp"

namespace timepipe {

// Linger when it pays: a timed wake-up costs about what a datagram's wake-up costs, so it is
// worth taking when at least two requests are expected in the linger time. Evidence of that:
// this wake-up found two or more, or it came less than half a linger after the previous one
// (arrivals at least every linger/2). A linger that finds fewer than two ends lingering, so a
// server whose load drops goes back to sleeping until the next datagram after one wake-up.
// Never while the server is behind (a socket not drained, or a full batch waiting: sleeping
// would only delay work already there, and a few clients that each wait for their answer
// would then ask less often).
void WakeupModeration::after_wakeup(std::size_t requests, std::int64_t mono_ns, bool drained) {
    if (linger_.count() <= 0) return;
    bool frequent = requests > 0 && last_wakeup_ && mono_ns - *last_wakeup_ < linger_.count() / 2;
    lingering_ = drained && requests < kFull && (requests >= 2 || frequent);
    if (requests > 0) last_wakeup_ = mono_ns;
}

std::optional<std::chrono::nanoseconds> WakeupModeration::next_wait() const {
    if (!lingering_) return std::nullopt;
    return linger_;
}

}  // namespace timepipe
