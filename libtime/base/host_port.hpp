// Parse the user's server argument:
//
//   host        example.org, 192.0.2.1             → {host, no port}
//   host:port   example.org:123, 192.0.2.1:4123
//   [v6]:port   [2001:db8::1]:123, [fe80::1%eth0]:123
//   [v6]        [::1]
//   v6          ::1, 2001:db8::1  (more than one colon and no brackets: all address, no port)
//
//   auto hp = parse_host_port(arg);
//   if (!hp) log::fatalx(hp.error().exit_code, "%s: %s", arg, hp.error().what.c_str());
//   auto addrs = resolve(*hp, 123);                // libtime/sys/resolve.hpp
//
// Errors are EX_USAGE with a short reason ("missing ']'", "port out of range"). Port 0 is
// accepted (a listener may ask for an ephemeral port); a client should refuse it. Pure: no
// lookups here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libtime/base/error.hpp"

namespace timepipe {

struct HostPort {
    std::string host;                  // without brackets: "::1", "example.org"
    std::optional<std::uint16_t> port;
    friend bool operator==(const HostPort&, const HostPort&) = default;
};

Result<HostPort> parse_host_port(std::string_view text);

// The canonical spelling: "host", "host:123", "[::1]:123", "[::1]". parse_host_port() of it
// gives back the same value.
std::string to_string(const HostPort& hp);

}  // namespace timepipe
