// Which Roughtime versions a client offers, as the command line names them (--version-set):
//
//   auto versions = parse_version_set("rfc,draft12");   // Result<std::vector<Version>>
//   std::printf("%s", std::string(short_name(v)).c_str());   // "draft-12"
#pragma once

#include <string_view>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/roughtime/version.hpp"

namespace timepipe::roughtime {

// Short names, as roughtime-query prints and takes them: "rfc", "draft-12", "draft-11",
// "draft-08", "google".
std::string_view short_name(Version v);

// What a client offers when not told otherwise: every IETF version (Google-Roughtime cannot
// share a request with them). The server answers in the newest it speaks.
std::vector<Version> default_versions();

// A comma-separated list of short names ("draft12" and "draft08" without the dash too), "ietf"
// or "all" (= default_versions()). Google-Roughtime only alone. Errors are EX_USAGE:
// "unknown version \"x\" (rfc, draft-12, draft-11, draft-08, google, ietf)".
Result<std::vector<Version>> parse_version_set(std::string_view text);

}  // namespace timepipe::roughtime
