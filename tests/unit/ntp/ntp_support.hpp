// What the NTP tests share: the instant the 2036 era boundary falls on (with the times of
// tests/unit/test_support.hpp: kMs, kSec, kT0).
#pragma once

#include "libtime/base/unix_time.hpp"
#include "tests/unit/test_support.hpp"

namespace timepipe::test {

// 2036-02-07T06:28:16Z: NTP era 1 starts, the timestamps' seconds wrap to 0.
inline constexpr UnixNanos kEra1Start = 2'085'978'496 * kSec;

}  // namespace timepipe::test
