#include "libtime/send_delay.hpp"

#include <algorithm>

namespace timepipe {

// An exponential average with weight 1/8: follows a change of load within tens of batches,
// and one slow call (preempted mid-send) moves it by at most kMaxPerDatagramNs / 8.
void SendDelay::observe(std::size_t datagrams, std::int64_t elapsed_ns) {
    if (datagrams == 0 || elapsed_ns < 0) return;
    std::int64_t sample = std::min(elapsed_ns / static_cast<std::int64_t>(datagrams), kMaxPerDatagramNs);
    if (!primed_) {
        per_datagram_ns_ = sample;
        primed_ = true;
        return;
    }
    per_datagram_ns_ += (sample - per_datagram_ns_) / 8;
}

}  // namespace timepipe
