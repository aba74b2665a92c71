#include "libtime/roughtime/sequence.hpp"

#include <string>
#include <utility>

namespace timepipe::roughtime {

Result<std::vector<std::size_t>> measurement_sequence(std::size_t servers, std::size_t pick,
                                                      const UniformRandom& uniform) {
    if (pick == 0) pick = servers;
    if (pick > servers)
        return fail("cannot pick " + std::to_string(pick) + " of " + std::to_string(servers) + " servers", EX_USAGE);
    if (pick < kMinSequenceServers)
        return fail(std::to_string(pick) + (pick == 1 ? " server" : " servers") +
                        ": a measurement sequence needs at least 3 (RFC 10049 §8.2)",
                    EX_USAGE);
    std::vector<std::size_t> all(servers);
    for (std::size_t i = 0; i < servers; ++i) all[i] = i;
    // Fisher-Yates: the first `pick` places end up a uniformly random ordered selection.
    for (std::size_t i = 0; i < pick; ++i) {
        const auto j = i + uniform(static_cast<std::uint32_t>(servers - i));
        std::swap(all[i], all[j]);
    }
    std::vector<std::size_t> order(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(pick));
    order.insert(order.end(), all.begin(), all.begin() + static_cast<std::ptrdiff_t>(pick));
    return order;
}

}  // namespace timepipe::roughtime
