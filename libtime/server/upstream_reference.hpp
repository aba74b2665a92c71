// What a server that follows an upstream says about itself: sample records from the time
// stream (e.g. `ntp-query --follow host | ntp-serve --upstream -`) in, the ServerState of its
// responses out (RFC 5905 §9: a secondary server's system variables).
//
//   UpstreamReference ref({.stale_after_ns = std::nullopt, .correct = true});
//   if (auto ok = ref.add(*sample); !ok) log::info("%s", ok.error().what.c_str());
//   ...at end of input: ref.end();
//   ntp::ServerState st = ref.state_at(clock.now(), clock.precision_log2());
//
// From the best of the last kDepth usable samples (lowest delay):
//   stratum   = its stratum + 1
//   refid     = the upstream's IPv4 address, or the MD5 refid of its IPv6 address (RFC 5905
//               §7.3); for a source named by host name, the MD5 refid of a 16-octet BLAKE2b
//               digest of the name
//   root delay      = its root delay + its delay
//   root dispersion = its root dispersion + its dispersion + PHI × (age of the sample)
//   leap      = its leap
//   correction = its offset (unless correct = false): served time = local clock + offset
//   reference = its time (+ correction)
// Unsynchronised (ntp::unsynchronised_state) before the first sample, after end(), and once the
// newest sample is older than stale_after (default 8 × 2^poll of the newest sample, clamped to
// [16 s, 1024 s]). Unusable samples (KoD, leap 3, stratum 0 or >= 15, non-finite or negative
// values) are refused and leave the state as it was. Pure: time is passed in.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "libtime/base/error.hpp"
#include "libtime/server/responder.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe {

struct UpstreamConfig {
    std::optional<std::int64_t> stale_after_ns;  // nullopt: from the poll, see above
    bool correct = true;                         // --no-correct: false
};

// One usable sample, reduced to plain values.
struct UpstreamSample {
    UnixNanos time = 0;
    std::int64_t offset_ns = 0;
    double delay = 0;            // s
    double dispersion = 0;       // s
    double root_delay = 0;       // s, the upstream's
    double root_dispersion = 0;  // s, the upstream's
    std::uint8_t stratum = 0;    // the upstream's
    ntp::Leap leap = ntp::Leap::None;
    std::int8_t poll = 6;
    std::uint32_t refid = 0;     // identifies the upstream (its address), see above
};

// The refid a server following `source` ("ntp://192.0.2.1:123", "ntp://[2001:db8::1]:123",
// "192.0.2.1", "ntp://time.example:123") sends.
std::optional<std::uint32_t> refid_for_source(std::string_view source);

class UpstreamReference {
public:
    static constexpr std::size_t kDepth = 8;
    static constexpr std::int64_t kMinStale = 16 * kNanosPerSecond;
    static constexpr std::int64_t kMaxStale = 1024 * kNanosPerSecond;

    explicit UpstreamReference(const UpstreamConfig& config = {}) : config_(config) {}

    // Takes a sample; an error (EX_DATAERR) says why it is not usable, and changes nothing.
    Result<void> add(const Sample& s);
    void end() { ended_ = true; }  // the stream is over: unsynchronised from now on
    bool ended() const { return ended_; }

    // The best sample among the last kDepth (lowest delay), nullopt before the first one.
    std::optional<UpstreamSample> best() const;
    std::int64_t stale_after_ns() const;  // as configured, or from the newest sample's poll
    ntp::ServerState state_at(UnixNanos now, std::int8_t precision) const;

private:
    UpstreamConfig config_;
    std::array<UpstreamSample, kDepth> ring_{};
    std::size_t count_ = 0;  // samples taken so far (the ring holds the last kDepth)
    bool ended_ = false;
};

}  // namespace timepipe
