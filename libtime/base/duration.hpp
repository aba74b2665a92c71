// Durations as every tool takes them on its command line (DEVELOPERS.md: "Durations accept 1.5,
// 250ms, 2s"): a decimal number of seconds, or a number and one of the units ns, us, ms, s, m, h.
//
//   auto d = parse_duration(optarg);             // "1.5", "250ms", "2s", "10m", "1h", "500us"
//   if (!d) log::fatalx(EX_USAGE, "-t: bad duration \"%s\": %s", optarg, d.error().what.c_str());
//   timer.start(*d);
//
// Pure: no locale, no floating point. Digits only ("1", "1.5", ".5", "2."), no sign, no
// exponent, no spaces; the result is truncated to whole nanoseconds and must be at least 1 ns and
// fit std::chrono::nanoseconds (about 292 years). A failure carries EX_USAGE and a short reason
// ("negative", "not a number", "unknown unit \"x\" (ns, us, ms, s, m, h)", "zero", ...).
#pragma once

#include <chrono>
#include <string_view>

#include "libtime/base/error.hpp"

namespace timepipe {

Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

}  // namespace timepipe
