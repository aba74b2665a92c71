// What a server that follows an upstream says about itself: sample records from the time
// stream (e.g. `ntp-query --follow pool.example | ntp-serve --upstream -`) in, the time and
// system variables of its responses out (RFC 5905 §9, §11: a secondary server).
//
//   UpstreamReference ref({.stale_after_ns = std::nullopt, .correct = true});
//   if (auto ok = ref.add(*sample, clock.now()); !ok) log::info("%s", ok.error().what.c_str());
//   ref.update(clock.now());                          // after adding, and at ref.next_change()
//   ntp::ServerState st = ref.state_at(clock.now(), clock.precision_log2());   // NTP, 16.16
//   UpstreamTime t = ref.at(clock.now());             // Roughtime: the same in seconds
//   ...at end of input: ref.end();
//
// Each source (the sample's "source") keeps its last kDepth usable samples. A sample is usable
// while its age is at most stale_after: by default 8 of its own poll intervals (8 × 2^poll,
// RFC 5905's unreachable after 8 unanswered polls), at least 16 s; its dispersion grows by PHI
// (15 ppm) × age. A sample dated ahead of the local clock when it arrives counts as taken on
// arrival, or is refused if it is further ahead than it would stay usable; later the age is the
// distance between its time and now either way (a clock stepped back makes samples old).
// Per source the usable sample with the lowest delay is the candidate (the clock filter);
// the candidates go through RFC 5905 selection (ntp::select_sources: falsetickers and
// sources farther than max_distance from their reference never count); the survivors'
// offsets are combined weighted by 1 / root distance (§11.2.3), and the system peer (the best
// survivor, or the system peer before while it survives) gives:
//   stratum   = its stratum + 1
//   refid     = reference_id() of its source, see below
//   root delay      = its root delay + its delay
//   root dispersion = its root dispersion + its dispersion + PHI × age + its jitter (with the
//                     survivors' spread), + |offset| with correct = false
//   leap      = its leap
//   correction = the combined offset (unless correct = false): served time = local clock + it
//   reference = its time (+ correction)
// Unsynchronised before the first sample, after end(), when no sample is usable or selection
// finds no majority.
//
// A tracking record (discipline(1)'s state, e.g. `... | discipline | tee >(clockadj) |
// ntp-serve --upstream -`) means the local clock is the disciplined one: from the first one on,
// samples no longer count and the newest tracking record gives
//   stratum = its stratum (already the system peer's + 1), refid = its refid (a dotted quad, or
//   1-4 ASCII characters for a reference clock), root delay = its root delay, root dispersion =
//   its root dispersion + |its offset| (still to be corrected) + PHI × age, leap = its leap,
//   correction = 0 (the clock is corrected by clockadj, not by the server), reference = its time;
// unsynchronised when it says so (synchronised false, leap 3, stratum 16) or when it is older
// than stale_after (from its poll as for a sample). Unusable samples (KoD, leap 3, stratum >= 15, stratum 0 from a network
// source, non-finite or negative values) are refused and change nothing. Pure: time is passed in.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"
#include "libtime/server/responder.hpp"
#include "libtime/stream/records.hpp"

namespace timepipe {

struct UpstreamConfig {
    std::optional<std::int64_t> stale_after_ns;  // nullopt: from each sample's poll, see above
    bool correct = true;                         // --no-correct: false
    double max_distance = 3.0;                   // s, root distance beyond which a source is unfit
};

// The reference identifier a server following this sample's source sends (RFC 5905 §7.3):
//   ntp://, nts://, roughtime:// or a bare host[:port]:
//       an IPv4 address: the address; an IPv6 address: the first four octets of its MD5;
//       a host name: the first four octets of the MD5 of its 16-octet BLAKE2b digest
//   any other scheme (a reference clock: gps:, pps:, shm:, ...):
//       stratum 0 (we serve stratum 1): the sample's refid if it is 1 to 4 printable ASCII
//       characters ("GPS", "PPS"), else the scheme's first four letters in capitals ("SHM");
//       above stratum 0: the first four octets of the MD5 of the source text
// nullopt for an empty or unparseable source.
std::optional<std::uint32_t> reference_id(const Sample& s);
// The network rule above alone: nullopt for a source that is not ntp://, nts://, roughtime://
// or a bare host[:port].
std::optional<std::uint32_t> refid_for_source(std::string_view source);

// The records an upstream stream carries that a server follows.
using UpstreamRecord = std::variant<Sample, Tracking>;

// The refid a tracking record names, as sent: "192.0.2.1" → 0xc0000201, "GPS" → 'G' 'P' 'S' 0;
// nullopt for anything else.
std::optional<std::uint32_t> parse_refid_text(std::string_view text);

// One usable sample, reduced to plain values.
struct UpstreamSample {
    UnixNanos time = 0;
    std::int64_t offset_ns = 0;
    double delay = 0;            // s
    double dispersion = 0;       // s
    double root_delay = 0;       // s, the upstream's
    double root_dispersion = 0;  // s, the upstream's
    double jitter = -1;          // s; < 0: not given
    std::uint8_t stratum = 0;    // the upstream's
    ntp::Leap leap = ntp::Leap::None;
    std::int8_t poll = 6;
    std::uint32_t refid = 0;     // what we send while it is the system peer, see reference_id()
};

// What the server says at one instant, in seconds.
struct UpstreamTime {
    bool synchronised = false;
    ntp::Leap leap = ntp::Leap::Unsynchronized;
    std::uint8_t stratum = 0;  // ours (0: unsynchronised)
    std::uint32_t refid = 0;
    double root_delay = 0;       // s
    double root_dispersion = 0;  // s
    std::int64_t correction_ns = 0;
    UnixNanos reference = 0;
    double root_distance() const { return root_delay / 2 + root_dispersion; }
};

enum class UpstreamStatus {
    waiting,       // no usable sample yet
    synchronised,
    stale,         // every sample is too old
    no_selection,  // selection found no source fit, or no majority
    ended,         // end() was called
};

// What update() decided, for the log: "synchronised to ntp://192.0.2.1:123 (stratum 2)",
// "unsynchronised: every sample is stale (the newest is 1100 s old)".
struct UpstreamReport {
    UpstreamStatus status = UpstreamStatus::waiting;
    std::string peer;  // the system peer's source when synchronised
    std::string line;
};

class UpstreamReference {
public:
    static constexpr std::size_t kDepth = 8;         // samples kept per source
    static constexpr std::size_t kMaxSources = 64;   // the one heard from least recently goes
    static constexpr std::int64_t kMinStale = 16 * kNanosPerSecond;

    explicit UpstreamReference(const UpstreamConfig& config = {}) : config_(config) {}

    // Takes a sample arriving at `now`; an error (EX_DATAERR) says why it is not usable, and
    // changes nothing. Call update() afterwards.
    Result<void> add(const Sample& s, UnixNanos now);
    // Takes a discipline's tracking record (see above); an error says why it is not usable.
    Result<void> add(const Tracking& t, UnixNanos now);
    Result<void> add(const UpstreamRecord& r, UnixNanos now);
    bool follows_tracking() const { return tracking_.has_value(); }
    void end() { ended_ = true; }  // the stream is over: unsynchronised from now on
    bool ended() const { return ended_; }

    // Runs selection at `now` and keeps the result until next_change(); state_at()/at() within
    // that time are cheap, outside it they run selection again (and do not keep it).
    void update(UnixNanos now);
    UnixNanos next_change() const { return decision_.until; }
    UpstreamReport report() const { return decision_.report; }

    // How long a sample with this poll stays usable (as configured, or from the poll).
    std::int64_t stale_after_ns(int poll) const;
    UpstreamTime at(UnixNanos now) const;
    ntp::ServerState state_at(UnixNanos now, std::int8_t precision) const;

private:
    struct Source {
        std::string name;
        std::array<UpstreamSample, kDepth> ring{};
        std::size_t count = 0;  // samples taken so far (the ring holds the last kDepth)
        UnixNanos newest = 0;
    };
    struct Decision {
        UpstreamReport report;
        UpstreamTime base;          // root dispersion without PHI × age of the peer sample
        UnixNanos peer_time = 0;
        UnixNanos from = 0, until = 0;  // valid while from <= now <= until
        bool valid = false;
    };
    Decision decide(UnixNanos now) const;
    Decision decide_from_tracking(UnixNanos now) const;
    UpstreamTime time_from(const Decision& d, UnixNanos now) const;

    UpstreamConfig config_;
    std::vector<Source> sources_;
    std::optional<Tracking> tracking_;  // the newest tracking record, with its time as taken
    Decision decision_;
    bool ended_ = false;
};

}  // namespace timepipe
