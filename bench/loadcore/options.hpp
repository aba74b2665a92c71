// The options both load generators take alike, parsed once: -c -d -n -s -t (the load's shape),
// -o text|json / --json, -v; and the server argument, resolved. Each tool's getopt switch hands
// what it does not know itself to take_common_option before giving up:
//
//   default:
//       if (!take_common_option(c, optarg, cfg, cfg.sockets, json)) getopt_failure(c, argv);
#pragma once

#include <cstdint>
#include <optional>

#include "bench/loadcore/engine.hpp"
#include "libtime/base/socket_address.hpp"

namespace timepipe::bench {

// getopt_long's value for --json (long only); tools number their own long-only options above it.
inline constexpr int kOptJson = 1000;

// Applies one of the common options; false when `c` is not one of them. A bad value ends the
// program with one line on stderr and EX_USAGE.
bool take_common_option(int c, const char* arg, LoadShape& shape, unsigned& sockets, bool& json);

// A whole number in [min, max] (decimal, no sign), or nullopt.
std::optional<std::uint64_t> parse_count(const char* text, std::uint64_t min, std::uint64_t max);

// HOST:PORT (port defaulting to default_port) resolved to the address to load; ends the program
// with one line and the resolver's exit code when it does not resolve.
SocketAddress resolve_target_or_die(const char* target, std::uint16_t default_port);

}  // namespace timepipe::bench
