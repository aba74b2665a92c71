// ntp-serve's command line: what the user asked for, checked, nothing opened or bound yet.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libtime/stream/output_format.hpp"
#include "libtime/server/rate_limit.hpp"

namespace timepipe::serve {

struct Options {
    std::vector<std::string> listen;        // as given; empty: 0.0.0.0:123 and [::]:123
    std::optional<std::uint8_t> stratum;    // --stratum
    std::optional<std::string> upstream;    // --upstream FILE or "-"
    std::optional<std::int64_t> stale_after_ns;
    bool correct = true;
    RateLimitConfig rate_limit{.enabled = false};
    std::vector<std::string> rules;         // "allow X" / "deny X" / "restrict X", in order
    std::optional<std::string> acl_file;
    std::optional<std::string> nts_keys;    // --nts-keys: NTS cookie key file (nts-ke --keys)
    bool deny_kod = true;
    bool interleaved = true;
    unsigned workers = 1;
    std::chrono::nanoseconds coalesce{std::chrono::microseconds(250)};  // --coalesce; 0: off
    std::optional<std::int64_t> stats_interval_ns;
    std::optional<std::string> user;        // --user: run as this user once bound
    std::optional<std::string> status_socket;   // --status-socket: where status snapshots are answered
    int status_mode = 0666;
    OutputFormat output = OutputFormat::cbor;
};

// Exits with EX_USAGE and one line on a bad option; prints help or the version and exits 0.
Options parse_options(int argc, char* argv[]);

}  // namespace timepipe::serve
