// roughtime-serve's command line: what the user asked for, checked, nothing opened or bound yet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libtime/base/unix_time.hpp"

namespace timepipe::rtserve {

inline constexpr std::uint16_t kDefaultPort = 2002;

struct Options {
    std::optional<std::string> keygen;       // --keygen FILE: write a key and exit
    bool force = false;                      // --force: --keygen may replace FILE
    std::optional<std::string> key;          // --key FILE (default $CREDENTIALS_DIRECTORY/roughtime-key)
    std::vector<std::string> listen;         // as given; empty: 0.0.0.0:2002 and [::]:2002
    bool tcp = true;                         // --tcp on|off
    bool google = true;                      // --google on|off
    std::int64_t radius_ns = 3 * kNanosPerSecond;  // --radius (the floor under --upstream)
    std::optional<std::string> upstream;     // --upstream FILE or "-"
    std::optional<std::int64_t> stale_after_ns;
    std::int64_t online_validity_ns = 24 * 3600 * kNanosPerSecond;
    std::size_t batch_size = 64;
    std::int64_t batch_delay_ns = 1'000'000;  // 1 ms
    std::int64_t offset_ns = 0;               // --offset: serve a wrong time (tests only)
    std::optional<std::string> status_socket;  // --status-socket PATH
    int status_mode = 0666;                    // --status-mode MODE
};

// Exits with EX_USAGE and one line on a bad option; prints help or the version and exits 0.
Options parse_options(int argc, char* argv[]);

}  // namespace timepipe::rtserve
