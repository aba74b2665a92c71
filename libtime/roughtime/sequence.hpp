// Which servers a measurement sequence asks, and in which order (RFC 10049 §8.2). No
// randomness of its own: the caller passes it in.
//
//   auto order = measurement_sequence(list.size(), 0, uniform);   // e.g. {2, 0, 1, 2, 0, 1}
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "libtime/base/error.hpp"

namespace timepipe::roughtime {

// "The client randomly selects at least three servers from the list, and sequentially queries
// them. The query sequence SHOULD be repeated twice with the servers in the same order."
inline constexpr std::size_t kMinSequenceServers = 3;

// uniform(n) returns an integer in [0, n), uniformly.
using UniformRandom = std::function<std::uint32_t(std::uint32_t bound)>;

// The indices into a list of `servers` to query, in order: `pick` of them (0: all) chosen at
// random and shuffled, then the same again. Fails (EX_USAGE) when fewer than
// kMinSequenceServers would be picked or `pick` exceeds `servers`.
Result<std::vector<std::size_t>> measurement_sequence(std::size_t servers, std::size_t pick,
                                                      const UniformRandom& uniform);

}  // namespace timepipe::roughtime
