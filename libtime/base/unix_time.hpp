// The one representation of a wall-clock instant inside timepipe: signed nanoseconds since
// 1970-01-01T00:00:00Z (UTC, leap seconds not counted). Lossless, and what the stream's `time` carries.
#pragma once

#include <cstdint>

namespace timepipe {

using UnixNanos = std::int64_t;

inline constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

constexpr double nanos_to_seconds(std::int64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace timepipe
