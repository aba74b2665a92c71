// The driftfile: discipline's frequency estimate kept across restarts (--driftfile FILE).
// One line, "FREQUENCY SKEW\n": the absolute frequency correction in ppm (what adjust's
// "frequency" carries, positive: the clock is sped up) and its error bound in ppm. Not chrony's
// driftfile (that one holds the clock's own error, of the opposite sign).
//
//   auto f = parse_driftfile(text);                // "not a frequency in ppm" on failure
//   std::string line = format_driftfile(12.345678, 0.012);
//   if (drift_due(last_written, now)) write...     // at most once an hour of record time
//
// Pure; reading and the atomic write are libtime/sys/file.hpp's.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::discipline {

inline constexpr double kDriftInterval = 3600;  // s of record time between writes

struct Drift {
    double frequency = 0;  // ppm, |f| <= 500
    double skew = 0;       // ppm, >= 0
};

// A frequency beyond ±500 ppm, a skew missing or outside 0-1e6 ppm... fail with EX_DATAERR.
Result<Drift> parse_driftfile(std::string_view text);
std::string format_driftfile(const Drift& drift);

// Whether the driftfile is due at record time `now`, last written at `last` (nullopt: never).
bool drift_due(std::optional<UnixNanos> last, UnixNanos now);

}  // namespace timepipe::discipline
