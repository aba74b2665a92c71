// SocketAddress: an IPv4 or IPv6 address and a UDP port, held as a plain value.
//
//   auto a = SocketAddress::v4({std::byte{127}, {}, {}, std::byte{1}}, 123);
//   a.to_string();            // "127.0.0.1:123"      IPv6: "[::1]:123", "[fe80::1%2]:123"
//   a.bytes();                // 4 or 16 raw bytes in network order, for ACLs and rate limiting
//   std::unordered_map<SocketAddress, T> by_peer;   // hashable, comparable
//
// IPv4-mapped IPv6 (::ffff:a.b.c.d) is normalised to IPv4 on construction, so one peer has one
// key. Pure: no sockaddr here. Text → address (inet_pton) is parse_address() in libtime/sys/resolve.hpp;
// conversion to and from the kernel's structures lives in libtime/sys/socket.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace timepipe {

enum class AddressFamily : std::uint8_t { v4, v6 };

class SocketAddress {
public:
    // 0.0.0.0:0
    SocketAddress() = default;

    static SocketAddress v4(const std::array<std::byte, 4>& addr, std::uint16_t port);
    // scope_id: the interface index of a link-local address (0 = none). A mapped IPv4 address
    // becomes a v4 SocketAddress and loses the scope.
    static SocketAddress v6(const std::array<std::byte, 16>& addr, std::uint16_t port,
                            std::uint32_t scope_id = 0);
    // Wildcard (0.0.0.0 / ::) and loopback (127.0.0.1 / ::1) of a family.
    static SocketAddress any(AddressFamily family, std::uint16_t port = 0);
    static SocketAddress loopback(AddressFamily family, std::uint16_t port = 0);

    AddressFamily family() const { return family_; }
    bool is_v4() const { return family_ == AddressFamily::v4; }
    bool is_v6() const { return family_ == AddressFamily::v6; }
    std::uint16_t port() const { return port_; }
    std::uint32_t scope_id() const { return scope_id_; }
    // 4 bytes for IPv4, 16 for IPv6, network byte order.
    std::span<const std::byte> bytes() const {
        return std::span<const std::byte>(addr_).first(is_v4() ? 4 : 16);
    }

    SocketAddress with_port(std::uint16_t port) const;
    bool is_unspecified() const;  // 0.0.0.0, ::
    bool is_loopback() const;     // 127/8, ::1

    std::string address_string() const;  // "127.0.0.1", "::1", "fe80::1%2" (RFC 5952 form)
    std::string to_string() const;       // "127.0.0.1:123", "[::1]:123"

    std::size_t hash() const noexcept;
    friend bool operator==(const SocketAddress&, const SocketAddress&) = default;

private:
    std::array<std::byte, 16> addr_{};  // unused tail stays zero so == and hash hold
    std::uint32_t scope_id_ = 0;
    std::uint16_t port_ = 0;
    AddressFamily family_ = AddressFamily::v4;
};

}  // namespace timepipe

template <>
struct std::hash<timepipe::SocketAddress> {
    std::size_t operator()(const timepipe::SocketAddress& a) const noexcept { return a.hash(); }
};
