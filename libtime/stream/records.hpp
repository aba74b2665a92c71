// Typed records on top of the generic Record of libtime/stream/codec.hpp. Keys, units and ranges are
// specified in man/time-stream.5.
//
//   Sample s;
//   s.source = "ntp://192.0.2.1:123"; s.time = now_ns; s.offset = -0.000123; ...
//   encode_record(to_record(s), out);                 // write
//
//   if (record_type(rec) == Sample::kType) {          // read; unknown keys are ignored
//       auto s = from_record<Sample>(rec);
//       if (!s) log::warnx("%s", s.error().what.c_str());   // "sample: \"leap\": 7 is not 0-3"
//   }
//
// Adding a type (Roughtime, GPS, PPS samples): a struct with kType, a to_record overload and a
// from_record<T> specialisation in libtime/stream/records.cpp, a section in man/time-stream.5.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "libtime/base/error.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe {

// One NTP measurement of one source.
struct Sample {
    static constexpr std::string_view kType = "sample";

    std::string source;       // "ntp://127.0.0.1:123"
    UnixNanos time = 0;       // local receive time, ns since 1970 (lossless int64)
    double offset = 0;        // s, server clock minus local clock
    double delay = 0;         // s, round-trip delay
    double dispersion = 0;    // s
    int stratum = 0;          // 0-255 (16 = unsynchronised)
    int leap = 0;             // 0-3, the LI field
    std::string refid;        // "GPS", "192.0.2.7", or a KoD code
    int poll = 0;             // log2 s, -128..127

    std::optional<double> root_delay;        // s, >= 0
    std::optional<double> root_dispersion;   // s, >= 0
    std::optional<double> jitter;            // s, >= 0
    std::optional<std::uint8_t> reach;       // 8-bit reachability register
    std::optional<int> precision;            // log2 s, -128..127
    std::optional<int> version;              // NTP version of the reply, 1-7
    std::optional<bool> interleaved;         // measured in interleaved mode
    std::optional<std::string> kod;          // Kiss-o'-Death code ("RATE") if the reply was one
    // Authenticated sources (Roughtime): true only once the answer's signature verified and, for
    // a chained measurement sequence, the whole chain was checked and shows no conflict
    // involving it; false with conflict = true for both servers of a proven conflict (see
    // RoughtimeConflict). A reader treats a sample whose "verified" is false as not good.
    std::optional<bool> verified;
    std::optional<bool> conflict;
    // How the answer was authenticated: "nts" (RFC 8915), "roughtime" (the server's signature),
    // "none" (plain NTP: anyone on the path could have written it).
    std::optional<std::string> auth;

    friend bool operator==(const Sample&, const Sample&) = default;
};

// Counters of one source or tool, e.g. {"sent": 4, "received": 3}.
struct Stats {
    static constexpr std::string_view kType = "stats";

    std::string source;
    UnixNanos time = 0;
    std::map<std::string, std::uint64_t> counters;

    friend bool operator==(const Stats&, const Stats&) = default;
};

// Two Roughtime responses of one chained measurement sequence (RFC 10049 §8.2) whose signed
// times contradict the order they were received in: the earlier one's MIDP - RADI is after the
// later one's MIDP + RADI. At least one of the two servers is wrong by `excess` or more; the
// chain (a malfeasance report) proves it. Samples of both carry "verified": false.
struct RoughtimeConflict {
    static constexpr std::string_view kType = "roughtime_conflict";

    std::string source;            // the server of the earlier response, "roughtime://host:port"
    UnixNanos time = 0;            // local receive time of the later response
    std::string later_source;      // the server of the later response
    UnixNanos earlier_midpoint = 0;  // MIDP, ns since 1970
    double earlier_radius = 0;       // RADI, s, >= 0
    UnixNanos later_midpoint = 0;
    double later_radius = 0;
    double excess = 0;               // s, > 0: (earlier MIDP - RADI) - (later MIDP + RADI)
    std::int64_t earlier_step = 0;   // indices of the two responses in the chain, >= 0
    std::int64_t later_step = 0;

    friend bool operator==(const RoughtimeConflict&, const RoughtimeConflict&) = default;
};

// What the clock should do now: written by discipline(1), applied by clockadj(8) and clocksim(1).
// Signs follow Sample's offset: a positive step or slew moves the local clock ahead; a positive
// frequency makes it run faster (ppm, as adjtimex's freq, but in ppm not 2^-16 ppm).
struct Adjust {
    static constexpr std::string_view kType = "adjust";
    // Limits every reader enforces (man/time-stream.5); clockadj's options may narrow them.
    static constexpr double kMaxFrequencyPpm = 500;      // the kernel's ADJ_FREQUENCY range
    static constexpr double kMaxStepSeconds = 1e9;       // about 31 years
    static constexpr double kMaxSlewSeconds = 1e3;
    static constexpr double kMaxSlewDuration = 1e6;      // s

    std::string source;      // the system peer the decision follows, or "local" in holdover
    UnixNanos time = 0;      // local clock time of the sample that caused it (never a fresh reading)
    std::optional<double> frequency;      // ppm, absolute, |f| <= 500
    std::optional<double> slew;           // s, |x| <= 1000: phase to add gradually
    // s, > 0: the slew runs as a temporary frequency offset slew/slew_duration on top of
    // `frequency` for this long, then the frequency returns to `frequency`. Absent: as fast as
    // the applier may (at most 500 ppm in total).
    std::optional<double> slew_duration;
    std::optional<double> step;           // s, |x| <= 1e9: add to the clock at once
    std::optional<std::string> reason;    // why, required with "step"
    // 1 insert, 2 delete a second at the end of the UTC day of `time`; 0 none. Sent only on that day.
    std::optional<int> leap;
    std::optional<int> poll;              // log2 s: the poll interval the discipline wants

    friend bool operator==(const Adjust&, const Adjust&) = default;
};

// The discipline's state, as `chronyc tracking` shows it; what ntp-serve --upstream serves.
struct Tracking {
    static constexpr std::string_view kType = "tracking";

    std::string source;           // the system peer ("ntp://192.0.2.1:123"), or "local" when none
    UnixNanos time = 0;           // local clock time of the last update (chronyc's "Ref time")
    int stratum = 16;             // the stratum this clock serves at: system peer's + 1; 16 none
    std::string refid;            // what a server derived from it sends as its reference ID
    double root_delay = 0;        // s, >= 0, to the primary reference
    double root_dispersion = 0;   // s, >= 0, at `time` (a reader grows it with age)
    double offset = 0;            // s, estimated reference minus local clock, still to correct
    double frequency = 0;         // ppm, the correction applied (positive: clock sped up)
    double skew = 0;              // ppm, >= 0, error bound of the frequency estimate
    int leap = 3;                 // 0-3, the LI field a server derived from it sends
    bool synchronised = false;
    std::optional<int> poll;                 // log2 s
    std::optional<double> rms_offset;        // s, >= 0
    std::optional<std::int64_t> sources;     // >= 0, sources that survived selection

    friend bool operator==(const Tracking&, const Tracking&) = default;
};

// A correction the discipline would have made and did not, and why: the NTP majority outside a
// verified Roughtime interval, a correction beyond --panic, no majority of --min-sources.
struct Refusal {
    static constexpr std::string_view kType = "refusal";

    std::string source;          // the source the refused estimate came from, or "discipline"
    UnixNanos time = 0;          // local clock time of the sample that led to it
    std::string reason;          // one line, e.g. "outside roughtime://192.0.2.9:2002's bound"
    std::optional<double> offset;        // s, the correction refused
    std::optional<double> lower_bound;   // s, the offset interval allowed, when a bound refused it
    std::optional<double> upper_bound;

    friend bool operator==(const Refusal&, const Refusal&) = default;
};

// What clockadj(8) did with one Adjust record (or would have, with --dry-run): the audit trail.
struct Applied {
    static constexpr std::string_view kType = "applied";
    // A slew clockadj stretched to fit the kernel's ±500 ppm may run longer than an adjust
    // record may ask for: 1000 s at its slowest rate, 1e-3 ppm.
    static constexpr double kMaxSlewDuration = 1e12;  // s

    std::string source;          // the clock: "CLOCK_REALTIME" or "/dev/ptp0"
    UnixNanos time = 0;          // that clock's time just before the change
    bool dry_run = false;
    std::optional<double> frequency;      // ppm, as set
    std::optional<double> slew;           // s
    std::optional<double> slew_duration;  // s
    std::optional<double> step;           // s
    std::optional<int> leap;              // 0-2, as armed
    // Set when the clock's frequency or status had been changed by another program since
    // clockadj last set it ("clock interference", said once on stderr too).
    std::optional<bool> interference;

    friend bool operator==(const Applied&, const Applied&) = default;
};

// Who answers a status socket (--status-socket): the first record of every status snapshot,
// naming the tool and its process, so a reader tells a restart from a long run.
struct ToolStatus {
    static constexpr std::string_view kType = "status";

    std::string source;           // the tool: "ntp-serve", "discipline", ...
    UnixNanos time = 0;           // when the snapshot was taken (the tool's clock)
    std::int64_t pid = 0;         // > 0
    UnixNanos started = 0;        // when the process started
    std::string version;          // timepipe's version, e.g. "0.1"
    std::optional<std::string> instance;   // what --status-socket was given, for telling two apart

    friend bool operator==(const ToolStatus&, const ToolStatus&) = default;
};

// discipline's view of one source after its last sample, as `chronyc sources` marks it.
struct SourceState {
    static constexpr std::string_view kType = "source_state";
    // The marks: '*' the system peer, '+' combined with it, '-' a truechimer not combined,
    // 'x' a falseticker, '~' too variable (jitter beyond its own bound), '?' not usable
    // (unreachable, unsynchronised, too far, proven wrong, no filtered sample yet).
    static constexpr std::string_view kStates = "*+-x~?";

    std::string source;           // as in the samples
    UnixNanos time = 0;           // the source's newest sample
    std::string state;            // one of kStates
    std::optional<double> offset;   // s, the clock filter's choice
    std::optional<double> delay;    // s
    std::optional<double> jitter;   // s, >= 0
    std::optional<std::string> reason;  // why '?' or 'x', one line

    friend bool operator==(const SourceState&, const SourceState&) = default;
};

// Records with "v": 1, the type, then the fields in the order above; optional ones only if set.
Record to_record(const Sample& s);
Record to_record(const Stats& s);
Record to_record(const RoughtimeConflict& c);
Record to_record(const Adjust& a);
Record to_record(const Tracking& t);
Record to_record(const Refusal& r);
Record to_record(const Applied& a);
Record to_record(const ToolStatus& s);
Record to_record(const SourceState& s);

// Checks "type", every known key's CBOR type and range; unknown keys are ignored. Errors name
// the type and key at fault, e.g. "sample: \"offset\": not a number" (EX_DATAERR). Float fields
// also accept integers (hand-written JSON says "offset": 0).
template <class T>
Result<T> from_record(const Record& record);
template <>
Result<Sample> from_record<Sample>(const Record& record);
template <>
Result<Stats> from_record<Stats>(const Record& record);
template <>
Result<RoughtimeConflict> from_record<RoughtimeConflict>(const Record& record);
template <>
Result<Adjust> from_record<Adjust>(const Record& record);
template <>
Result<Tracking> from_record<Tracking>(const Record& record);
template <>
Result<Refusal> from_record<Refusal>(const Record& record);
template <>
Result<Applied> from_record<Applied>(const Record& record);
template <>
Result<ToolStatus> from_record<ToolStatus>(const Record& record);
template <>
Result<SourceState> from_record<SourceState>(const Record& record);

}  // namespace timepipe
