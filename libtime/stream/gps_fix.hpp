// The gps_fix record: what a GPS receiver said in one epoch (one second's sentences) and what
// gps-reader(1) made of it, so its view can be set beside gpsd's TPV. Follows records.hpp: keys,
// units and ranges in man/time-stream.5.
//
//   GpsFix f; f.source = "gps://ttyS0"; f.time = first_byte_ns; f.talker = "GP"; f.valid = true; ...
//   encode_record(to_record(f), out);
//   if (record_type(rec) == GpsFix::kType) auto f = from_record<GpsFix>(rec);  // strict checks
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"

namespace timepipe {

struct GpsFix {
    static constexpr std::string_view kType = "gps_fix";

    std::string source;       // "gps://ttyS0"
    UnixNanos time = 0;       // local receive time of the epoch's first byte, ns since 1970
    std::string talker;       // of the epoch's first sentence: "GP", "GN", ...
    bool valid = false;       // a fix gps-reader accepts (status, quality, satellites, date checks)
    std::optional<std::string> utc;     // the time named, "2026-03-01T12:00:02.000Z" (":60" in a leap
                                        // second), after week-rollover correction
    std::optional<bool> leap_second;    // true for 23:59:60
    std::optional<int> rollover_weeks;  // weeks added for a week-rollover receiver, > 0, a multiple of 1024
    std::optional<int> lock;            // consecutive valid seconds so far, >= 0
    std::optional<int> quality;         // GGA quality 0-8
    std::optional<std::string> status;  // RMC status "A" or "V"
    std::optional<std::string> mode;    // RMC mode indicator or GNS mode characters
    std::optional<int> satellites;      // 0-99
    std::optional<double> hdop;         // >= 0
    std::optional<double> latitude;     // degrees, -90..90
    std::optional<double> longitude;    // degrees, -180..180
    std::optional<double> altitude;     // m above mean sea level
    std::optional<std::string> reason;  // why not valid (present exactly when valid is false)

    friend bool operator==(const GpsFix&, const GpsFix&) = default;
};

Record to_record(const GpsFix& f);
template <>
Result<GpsFix> from_record<GpsFix>(const Record& record);

}  // namespace timepipe
