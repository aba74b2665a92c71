// The NTP clock filter (RFC 5905 §10) and the one-shot "best of N" choice sntp/ntpdig make.
//
//   ClockFilter filter;                                   // one per source
//   if (auto est = filter.add({offset, delay, dispersion, receive_time}))
//       use(est->offset, est->delay, est->dispersion, est->jitter);   // a fresh estimate
//   // no value: the best sample was already used (or is older); keep the previous estimate.
//
//   // one-shot query of N exchanges:
//   auto i = best_sample(samples);                        // index of the minimum delay
//
// Offsets, delays and dispersions are seconds as double; times are UnixNanos.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <span>

#include "libtime/ntp/constants.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::ntp {

// One on-wire exchange (RFC 5905 §8): θ, δ, ε and the time the reply arrived.
struct NtpSample {
    double offset = 0.0;      // θ: server clock minus ours
    double delay = 0.0;       // δ: round trip minus server processing
    double dispersion = 0.0;  // ε: precisions plus PHI * round trip, grows with age
    UnixNanos time = 0;       // when the reply arrived
};

// What the filter reports for a peer (RFC 5905 §10): the chosen sample's offset and delay,
// the peer dispersion over all stages, and the peer jitter.
struct PeerEstimate {
    double offset = 0.0;
    double delay = 0.0;
    double dispersion = 0.0;  // at `time`; add ntp::kPhi * age for later uses (root distance)
    double jitter = 0.0;
    UnixNanos time = 0;       // of the chosen sample
};

// An index into `samples` of one with the smallest delay (the earliest of equals); empty for
// no samples or none with a finite delay.
std::optional<std::size_t> best_sample(std::span<const NtpSample> samples);

class ClockFilter {
public:
    // `precision` (seconds, e.g. 2^-20) is the floor of the reported jitter (RFC 5905 A.5.2).
    explicit ClockFilter(double precision = 0.0) : precision_(precision) { clear(); }

    // Shift in a sample, ageing older stages by PHI * elapsed (RFC 5905 §10). Returns the new
    // estimate when the minimum-delay sample is newer than the last one used, otherwise empty
    // (RFC 5905 §10: a sample is used once, and never one older than the last).
    std::optional<PeerEstimate> add(const NtpSample& sample);

    // The estimate last returned by add(), if any.
    const std::optional<PeerEstimate>& estimate() const { return estimate_; }
    // The stages, newest first; empty stages have delay and dispersion MAXDISP.
    std::span<const NtpSample, ntp::kFilterStages> stages() const { return stages_; }
    std::size_t size() const { return count_; }
    void clear();

private:
    std::array<NtpSample, ntp::kFilterStages> stages_;
    std::size_t count_ = 0;
    double precision_;
    std::optional<PeerEstimate> estimate_;
};

}  // namespace timepipe::ntp
