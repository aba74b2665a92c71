#include "libtime/ntp/filter.hpp"

#include <algorithm>
#include <cmath>

namespace timepipe::ntp {


std::optional<std::size_t> best_sample(std::span<const NtpSample> samples) {
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        if (!std::isfinite(samples[i].delay)) continue;
        if (!best || samples[i].delay < samples[*best].delay) best = i;
    }
    return best;
}

void ClockFilter::clear() {
    // RFC 5905 A.5.2: empty stages hold the worst possible sample.
    stages_.fill(NtpSample{0.0, kMaxDispersion, kMaxDispersion, 0});
    count_ = 0;
    estimate_.reset();
}

std::optional<PeerEstimate> ClockFilter::add(const NtpSample& sample) {
    // Age every held sample by PHI times the time since the previous one arrived (RFC 5905 §10).
    // A reply older than the newest held one ages nothing.
    const double age =
        count_ > 0 ? std::max(0.0, nanos_to_seconds(sample.time - stages_[0].time)) : 0.0;
    for (std::size_t i = kFilterStages - 1; i > 0; --i) {
        stages_[i] = stages_[i - 1];
        if (i < count_ + 1)
            stages_[i].dispersion = std::min(stages_[i].dispersion + kPhi * age, kMaxDispersion);
    }
    stages_[0] = sample;
    stages_[0].dispersion = std::clamp(sample.dispersion, 0.0, kMaxDispersion);
    count_ = std::min(count_ + 1, kFilterStages);

    // Stage indices by increasing delay, held samples before empty stages; insertion sort
    // keeps newer samples first among equal delays and needs no allocation.
    std::array<std::size_t, kFilterStages> order{};
    for (std::size_t i = 0; i < kFilterStages; ++i) {
        std::size_t j = i;
        const auto key = [&](std::size_t s) { return std::pair{s >= count_, stages_[s].delay}; };
        while (j > 0 && key(i) < key(order[j - 1])) {
            order[j] = order[j - 1];
            --j;
        }
        order[j] = i;
    }

    // RFC 5905 §10: ε = Σ ε_i / 2^(i+1) over the sorted stages (empty ones count MAXDISP),
    // ψ = sqrt(Σ_{j≥1} (θ_0 − θ_j)² / (n − 1)) over the n held samples, at least the precision.
    const NtpSample& best = stages_[order[0]];
    double dispersion = 0.0;
    double weight = 0.5;
    double squares = 0.0;
    for (std::size_t i = 0; i < kFilterStages; ++i) {
        const NtpSample& s = stages_[order[i]];
        dispersion += s.dispersion * weight;
        weight /= 2;
        if (i > 0 && i < count_) squares += (s.offset - best.offset) * (s.offset - best.offset);
    }
    const double jitter =
        std::max(count_ > 1 ? std::sqrt(squares / static_cast<double>(count_ - 1)) : 0.0, precision_);

    // RFC 5905 §10: use a sample only once, and never one older than the last used.
    if (estimate_ && best.time <= estimate_->time) return std::nullopt;
    estimate_ = PeerEstimate{best.offset, best.delay, dispersion, jitter, best.time};
    return estimate_;
}

}  // namespace timepipe::ntp
