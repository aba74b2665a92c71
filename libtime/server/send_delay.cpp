#include "libtime/server/send_delay.hpp"

#include <algorithm>
#include <cmath>

namespace timepipe {

namespace {
constexpr double kWeight = 1.0 / 16;

void blend(double& average, double sample, bool& primed) {
    average = primed ? average + (sample - average) * kWeight : sample;
}
}  // namespace

void SendDelay::observe_build(std::size_t replies, std::int64_t elapsed_ns) {
    if (replies == 0 || elapsed_ns < 0) return;
    double per = std::min(static_cast<double>(elapsed_ns) / static_cast<double>(replies),
                          static_cast<double>(kMaxPerDatagramNs));
    blend(build_, per, build_primed_);
    build_primed_ = true;
}

void SendDelay::observe_send(std::size_t datagrams, std::int64_t elapsed_ns) {
    if (datagrams == 0 || elapsed_ns < 0) return;
    double n = static_cast<double>(datagrams);
    double e = std::min(static_cast<double>(elapsed_ns), n * static_cast<double>(kMaxPerDatagramNs));
    bool was = primed_;
    blend(n_, n, was);
    was = primed_;
    blend(e_, e, was);
    was = primed_;
    blend(nn_, n * n, was);
    was = primed_;
    blend(ne_, n * e, was);
    primed_ = true;
}

std::int64_t SendDelay::per_datagram_ns() const {
    if (!primed_ || n_ <= 0) return 0;
    double variance = nn_ - n_ * n_;
    double slope = variance >= 1.0 ? (ne_ - n_ * e_) / variance : e_ / n_;
    return static_cast<std::int64_t>(std::clamp(slope, 0.0, static_cast<double>(kMaxPerDatagramNs)));
}

std::int64_t SendDelay::per_call_ns() const {
    if (!primed_ || nn_ - n_ * n_ < 1.0) return 0;
    double intercept = e_ - static_cast<double>(per_datagram_ns()) * n_;
    return static_cast<std::int64_t>(std::clamp(intercept, 0.0, static_cast<double>(kMaxPerDatagramNs)));
}

std::int64_t SendDelay::until_departure(std::size_t i, std::size_t k, std::size_t n) const {
    std::size_t still_to_build = n > i ? n - 1 - i : 0;
    std::int64_t sending = k == 0 ? 0 : per_call_ns() + static_cast<std::int64_t>(k) * per_datagram_ns();
    return static_cast<std::int64_t>(build_ * static_cast<double>(still_to_build)) + sending;
}

}  // namespace timepipe
