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

// Records with "v": 1, the type, then the fields in the order above; optional ones only if set.
Record to_record(const Sample& s);
Record to_record(const Stats& s);
Record to_record(const RoughtimeConflict& c);

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

}  // namespace timepipe
