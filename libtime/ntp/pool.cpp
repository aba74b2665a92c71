#include "libtime/ntp/pool.hpp"

#include <algorithm>
#include <optional>

namespace timepipe::ntp {

Placement place_address(const SocketAddress& address, std::span<const PoolMember> live, std::size_t max_sources) {
    if (std::any_of(live.begin(), live.end(), [&](const PoolMember& m) { return m.address == address; }))
        return {Placement::InUse, 0};
    std::size_t of_name = 0;
    std::optional<std::size_t> dead;
    for (std::size_t i = 0; i < live.size(); ++i) {
        if (!live[i].of_name) continue;
        ++of_name;
        if (live[i].unreachable && !dead) dead = i;
    }
    if (dead) return {Placement::Replace, *dead};
    if (of_name >= max_sources) return {Placement::Full, 0};
    return {Placement::Add, 0};
}

}  // namespace timepipe::ntp
