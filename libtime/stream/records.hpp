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

// Records with "v": 1, the type, then the fields in the order above; optional ones only if set.
Record to_record(const Sample& s);
Record to_record(const Stats& s);

// Checks "type", every known key's CBOR type and range; unknown keys are ignored. Errors name
// the type and key at fault, e.g. "sample: \"offset\": not a number" (EX_DATAERR). Float fields
// also accept integers (hand-written JSON says "offset": 0).
template <class T>
Result<T> from_record(const Record& record);
template <>
Result<Sample> from_record<Sample>(const Record& record);
template <>
Result<Stats> from_record<Stats>(const Record& record);

}  // namespace timepipe
