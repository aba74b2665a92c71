// Latency histogram for the load generators: log-linear buckets (64 per power of two of nanoseconds), so
// a quantile is within 1/64 (1.6 %) of the true value whatever the run length, in fixed memory.
//
//   LatencyHistogram h;  h.add(rtt_ns);  h.quantile(0.99);   // ns, 0 when empty
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace timepipe::bench {

class LatencyHistogram {
public:
    void add(std::uint64_t ns) {
        ++buckets_[index(ns)];
        ++count_;
    }
    std::uint64_t count() const { return count_; }

    // The value below which a fraction q of the samples lie (bucket midpoint), in ns.
    std::uint64_t quantile(double q) const {
        if (count_ == 0)
            return 0;
        auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            seen += buckets_[i];
            if (seen >= rank)
                return midpoint(i);
        }
        return midpoint(buckets_.size() - 1);
    }

private:
    static constexpr unsigned kSubBits = 6;  // 64 sub-buckets per octave
    static constexpr std::uint64_t kSub = std::uint64_t{1} << kSubBits;
    static constexpr unsigned kOctaves = 40;  // up to 2^46 ns (19 hours): more than enough

    static std::size_t index(std::uint64_t v) {
        if (v < kSub)
            return static_cast<std::size_t>(v);
        unsigned shift = static_cast<unsigned>(std::bit_width(v)) - (kSubBits + 1);
        if (shift >= kOctaves)
            return kSub + kOctaves * kSub - 1;
        return static_cast<std::size_t>(kSub + shift * kSub + ((v >> shift) - kSub));
    }
    static std::uint64_t midpoint(std::size_t i) {
        if (i < kSub)
            return i;
        std::size_t octave = (i - kSub) / kSub;
        std::uint64_t low = (kSub + (i - kSub) % kSub) << octave;
        return low + ((std::uint64_t{1} << octave) >> 1);
    }

    std::array<std::uint64_t, kSub + kOctaves * kSub> buckets_{};
    std::uint64_t count_ = 0;
};

}  // namespace timepipe::bench
