#include "libtime/sys/resolve.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <sys/socket.h>

#include "libtime/sys/socket.hpp"

namespace timepipe {
namespace {

bool family_matches(const SocketAddress& a, Family f) {
    return f == Family::any || (f == Family::v4 && a.is_v4()) || (f == Family::v6 && a.is_v6());
}

// "eth0" or "2" → interface index; 0 if there is no such interface.
std::uint32_t parse_zone(const std::string& zone) {
    if (!zone.empty() && std::all_of(zone.begin(), zone.end(),
                                     [](char c) { return c >= '0' && c <= '9'; })) {
        if (zone.size() > 9)
            return 0;
        return static_cast<std::uint32_t>(std::stoul(zone));
    }
    return if_nametoindex(zone.c_str());
}

struct AddrinfoFree {
    void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};

}  // namespace

std::optional<SocketAddress> parse_address(std::string_view text, std::uint16_t port) {
    if (text.empty() || text.size() > 128)
        return std::nullopt;
    std::string s(text);
    std::array<std::byte, 4> a4{};
    if (inet_pton(AF_INET, s.c_str(), a4.data()) == 1)
        return SocketAddress::v4(a4, port);
    std::uint32_t scope = 0;
    auto pct = s.find('%');
    if (pct != std::string::npos) {
        scope = parse_zone(s.substr(pct + 1));
        if (scope == 0)
            return std::nullopt;
        s.resize(pct);
    }
    std::array<std::byte, 16> a6{};
    if (inet_pton(AF_INET6, s.c_str(), a6.data()) == 1)
        return SocketAddress::v6(a6, port, scope);
    return std::nullopt;
}

Result<std::vector<SocketAddress>> resolve(const HostPort& hp, std::uint16_t default_port,
                                           Family family) {
    std::uint16_t port = hp.port.value_or(default_port);
    if (auto numeric = parse_address(hp.host, port)) {
        if (!family_matches(*numeric, family))
            return fail(family == Family::v4 ? "not an IPv4 address" : "not an IPv6 address",
                        EX_NOHOST);
        return std::vector<SocketAddress>{*numeric};
    }

    addrinfo hints{};
    hints.ai_family = family == Family::v4 ? AF_INET : family == Family::v6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    // No AI_ADDRCONFIG: glibc ignores loopback for it, so a host with only "lo" up would
    // resolve "localhost" to nothing.
    addrinfo* raw = nullptr;
    int rc = getaddrinfo(hp.host.c_str(), nullptr, &hints, &raw);
    std::unique_ptr<addrinfo, AddrinfoFree> list(raw);
    switch (rc) {
    case 0:
        break;
    case EAI_AGAIN:
        return fail("temporary failure in name resolution", EX_TEMPFAIL);
    case EAI_SYSTEM:
        return fail(std::string("getaddrinfo: ") + std::strerror(errno), EX_OSERR);
    case EAI_MEMORY:
        return fail("getaddrinfo: out of memory", EX_OSERR);
    default:  // EAI_NONAME, EAI_NODATA, EAI_ADDRFAMILY, EAI_FAIL, …
        return fail("name or service not known", EX_NOHOST);
    }
    std::vector<SocketAddress> out;
    for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
        auto a = sys::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
        if (!a || !family_matches(*a, family))
            continue;
        SocketAddress with = a->with_port(port);
        if (std::find(out.begin(), out.end(), with) == out.end())
            out.push_back(with);
    }
    if (out.empty())
        return fail("name or service not known", EX_NOHOST);
    return out;
}

}  // namespace timepipe
