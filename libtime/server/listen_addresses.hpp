// What a server binds: each --listen ADDR[:PORT] resolved, or both wildcards at the default port.
//
//   auto listen = listen_addresses(opt.listen, 123);
//   if (!listen) log::fatalx(listen.error().exit_code, "%s", listen.error().what.c_str());
//   for (const ListenAddress& a : *listen)
//       UdpSocket::bind(a.address, {.v6_only = a.v6_only, ...});
//
// "[::]" alone serves IPv4 too (a dual-stack socket: IPv4 clients appear as ::ffff:a.b.c.d),
// as a user who names the IPv6 wildcard expects; it is IPv6-only only when the IPv4 wildcard
// of the same port is listed as well, so both can be bound. With no --listen: "0.0.0.0" and
// "[::]" (IPv6-only), and on a host without IPv6 (socket(AF_INET6) refused) "0.0.0.0" alone.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/socket_address.hpp"

namespace timepipe {

struct ListenAddress {
    SocketAddress address;
    bool v6_only = true;  // for an IPv6 wildcard: false serves IPv4 on the same socket
    friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

// Errors name the argument: "--listen X: why" (EX_USAGE, or the resolver's code).
Result<std::vector<ListenAddress>> listen_addresses(std::span<const std::string> args,
                                                    std::uint16_t default_port);

// The pure part: which wildcards are IPv6-only, and the default when `given` is empty
// (`ipv6`: whether the host has IPv6 at all).
std::vector<ListenAddress> plan_listen(std::span<const SocketAddress> given, std::uint16_t default_port,
                                       bool ipv6);

}  // namespace timepipe
