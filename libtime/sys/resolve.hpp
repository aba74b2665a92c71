// Turn a HostPort (libtime/base/host_port.hpp) into the addresses to talk to.
//
//   auto addrs = resolve(*hp, 123);                   // every address: a pool is many sources
//   auto v6 = resolve(*hp, 123, Family::v6);
//   if (!addrs) → addrs.error(): {"name or service not known", EX_NOHOST} and friends
//
// Numeric hosts take a fast path (inet_pton, no lookup). Names go through getaddrinfo(3),
// which may block for the resolver's timeout: call it before the event loop starts.
// The result keeps getaddrinfo's order, without duplicates, and is never empty.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/socket_address.hpp"

namespace timepipe {

enum class Family : std::uint8_t { any, v4, v6 };

Result<std::vector<SocketAddress>> resolve(const HostPort& hp, std::uint16_t default_port,
                                           Family family = Family::any);

// A numeric address ("192.0.2.1", "2001:db8::1", "fe80::1%eth0", "fe80::1%2"), or nullopt.
std::optional<SocketAddress> parse_address(std::string_view text, std::uint16_t port = 0);

}  // namespace timepipe
