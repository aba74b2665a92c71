#include "libtime/base/socket_address.hpp"

#include <algorithm>

#include "libtime/base/cidr.hpp"

namespace timepipe {
namespace {

constexpr std::array<std::byte, 12> kMappedPrefix{
    std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0},    std::byte{0},
    std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0xff}, std::byte{0xff}};

unsigned u8(std::byte b) { return std::to_integer<unsigned>(b); }

}  // namespace

SocketAddress SocketAddress::v4(const std::array<std::byte, 4>& addr, std::uint16_t port) {
    SocketAddress a;
    std::copy(addr.begin(), addr.end(), a.addr_.begin());
    a.port_ = port;
    a.family_ = AddressFamily::v4;
    return a;
}

SocketAddress SocketAddress::v6(const std::array<std::byte, 16>& addr, std::uint16_t port,
                                std::uint32_t scope_id) {
    if (std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), addr.begin()))
        return v4({addr[12], addr[13], addr[14], addr[15]}, port);
    SocketAddress a;
    a.addr_ = addr;
    a.port_ = port;
    a.scope_id_ = scope_id;
    a.family_ = AddressFamily::v6;
    return a;
}

SocketAddress SocketAddress::any(AddressFamily family, std::uint16_t port) {
    return family == AddressFamily::v4 ? v4({}, port) : v6({}, port);
}

SocketAddress SocketAddress::loopback(AddressFamily family, std::uint16_t port) {
    if (family == AddressFamily::v4)
        return v4({std::byte{127}, std::byte{0}, std::byte{0}, std::byte{1}}, port);
    std::array<std::byte, 16> a{};
    a[15] = std::byte{1};
    return v6(a, port);
}

SocketAddress SocketAddress::with_port(std::uint16_t port) const {
    SocketAddress a = *this;
    a.port_ = port;
    return a;
}

bool SocketAddress::is_unspecified() const {
    auto b = bytes();
    return std::all_of(b.begin(), b.end(), [](std::byte x) { return x == std::byte{0}; });
}

bool SocketAddress::is_loopback() const {
    if (is_v4())
        return addr_[0] == std::byte{127};
    auto b = bytes();
    return std::all_of(b.begin(), b.end() - 1, [](std::byte x) { return x == std::byte{0}; }) &&
           b[15] == std::byte{1};
}

std::string SocketAddress::address_string() const {
    // IpAddress has the RFC 5952 formatter. A v6 SocketAddress is never IPv4-mapped (v6() makes
    // those v4), so IpAddress's dotted form for mapped addresses cannot show up here.
    std::string out = IpAddress::from_bytes(bytes())->to_string();
    if (scope_id_ != 0)
        out += "%" + std::to_string(scope_id_);
    return out;
}

std::string SocketAddress::to_string() const {
    std::string host = address_string();
    std::string port = std::to_string(port_);
    return is_v4() ? host + ":" + port : "[" + host + "]:" + port;
}

std::size_t SocketAddress::hash() const noexcept {
    // FNV-1a over the fields that make up equality. Not keyed: a table exposed to hostile
    // peers (rate limiting) should mix in its own secret.
    std::uint64_t h = 0xcbf29ce484222325ULL;
    auto mix = [&h](unsigned byte) {
        h ^= byte;
        h *= 0x100000001b3ULL;
    };
    for (std::byte b : bytes())
        mix(u8(b));
    mix(port_ >> 8);
    mix(port_ & 0xffu);
    for (int shift = 0; shift < 32; shift += 8)
        mix((scope_id_ >> shift) & 0xffu);
    mix(static_cast<unsigned>(family_));
    return static_cast<std::size_t>(h);
}

}  // namespace timepipe
