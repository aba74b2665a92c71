// Where a new address of a server name goes, as chronyd does for pools: an address already in
// use by any source is skipped; otherwise it takes the place of the first source of that name
// that stopped answering, or else becomes one more source while the name has fewer than its
// maximum. Pure: the caller says which sources are live and which do not answer.
//
//   auto p = place_address(addr, live_sources, max_sources);
//   if (p.kind == Placement::Replace) retire(live_sources[p.replaced]);
//   if (p.kind == Placement::Replace || p.kind == Placement::Add) start_source(addr);
#pragma once

#include <cstddef>
#include <span>

#include "libtime/base/socket_address.hpp"

namespace timepipe::ntp {

struct PoolMember {
    SocketAddress address;
    bool of_name = false;      // a source of the name being placed (not of another name)
    bool unreachable = false;  // it stopped answering (PollStatus::Unreachable)
};

struct Placement {
    enum Kind { InUse, Full, Add, Replace };
    Kind kind = InUse;
    std::size_t replaced = 0;  // Replace: the index in `live` of the source it replaces
};

// `live`: every source still in use, of every name.
Placement place_address(const SocketAddress& address, std::span<const PoolMember> live, std::size_t max_sources);

}  // namespace timepipe::ntp
