#include "libtime/server/listen_addresses.hpp"

#include <algorithm>

#include "libtime/base/host_port.hpp"
#include "libtime/base/log.hpp"
#include "libtime/sys/resolve.hpp"
#include "libtime/sys/socket.hpp"

namespace timepipe {

std::vector<ListenAddress> plan_listen(std::span<const SocketAddress> given, std::uint16_t default_port,
                                       bool ipv6) {
    std::vector<ListenAddress> out;
    if (given.empty()) {
        out.push_back({SocketAddress::any(AddressFamily::v4, default_port), true});
        if (ipv6) out.push_back({SocketAddress::any(AddressFamily::v6, default_port), true});
        return out;
    }
    for (const SocketAddress& a : given) {
        bool v6_only = true;
        if (a.is_v6() && a.is_unspecified()) {
            v6_only = std::any_of(given.begin(), given.end(), [&](const SocketAddress& b) {
                return b.is_v4() && b.is_unspecified() && b.port() == a.port();
            });
        }
        out.push_back({a, v6_only});
    }
    return out;
}

Result<std::vector<ListenAddress>> listen_addresses(std::span<const std::string> args,
                                                    std::uint16_t default_port) {
    std::vector<SocketAddress> given;
    for (const std::string& arg : args) {
        auto hp = parse_host_port(arg);
        if (!hp) return fail("--listen " + arg + ": " + hp.error().what, EX_USAGE);
        auto addrs = resolve(*hp, default_port);
        if (!addrs) return fail("--listen " + arg + ": " + addrs.error().what, addrs.error().exit_code);
        given.insert(given.end(), addrs->begin(), addrs->end());
    }
    bool ipv6 = true;
    if (given.empty()) {
        auto why = ipv6_unavailable();
        if (why) {
            log::warnx("IPv6: %s: serving IPv4 only", why->c_str());
            ipv6 = false;
        }
    }
    return plan_listen(given, default_port, ipv6);
}

}  // namespace timepipe
