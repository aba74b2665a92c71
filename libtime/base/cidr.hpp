// IP addresses and CIDR prefixes, parsed from text in pure code (no inet_pton) and matched
// against raw addresses as they come off the socket.
//
//   auto net = parse_cidr("192.0.2.0/24");          // Result<Cidr>; "2001:db8::/32", bare
//   if (!net) log::fatalx(EX_USAGE, "--allow %s: %s", arg, net.error().what.c_str());
//   std::array<std::byte, 4> peer = ...;             // 4 or 16 bytes, network order
//   if (net->contains(peer)) ...                      // no allocation, never throws
//
// IPv4 is stored as its IPv4-mapped IPv6 form (::ffff:a.b.c.d), so a peer seen as ::ffff:192.0.2.7
// on a dual-stack socket matches IPv4 rules, and a rule written ::ffff:192.0.2.0/120 is the IPv4
// rule 192.0.2.0/24. IPv4 rules match only IPv4 peers and IPv6 rules only native IPv6 peers:
// ::/0 does not cover IPv4 (use both 0.0.0.0/0 and ::/0, or the acl's "all").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "libtime/base/error.hpp"

namespace timepipe {

class IpAddress {
public:
    IpAddress() = default;  // :: (IPv6 unspecified)

    // 4 bytes (IPv4) or 16 bytes (IPv6, IPv4-mapped recognised); anything else: nullopt.
    static std::optional<IpAddress> from_bytes(std::span<const std::byte> raw) noexcept;
    static IpAddress v4(std::uint32_t host_order) noexcept;

    bool is_v4() const noexcept;  // IPv4, or IPv4-mapped IPv6
    // Always 16 bytes, IPv4 in mapped form.
    const std::array<std::byte, 16>& bytes() const noexcept { return b_; }
    std::uint64_t hi() const noexcept;  // first 8 bytes, big-endian
    std::uint64_t lo() const noexcept;  // last 8 bytes, big-endian

    // The first `prefix_len` bits kept, the rest zero; prefix_len counts within the family
    // (0..32 for IPv4, 0..128 for IPv6) and is clamped.
    IpAddress masked(int prefix_len) const noexcept;

    // Dotted quad for IPv4, RFC 5952 canonical text for IPv6.
    std::string to_string() const;

    friend bool operator==(const IpAddress&, const IpAddress&) = default;

private:
    std::array<std::byte, 16> b_{};
};

// "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "64:ff9b::192.0.2.1" (RFC 4291 §2.2 forms).
// No zone ids, no brackets, no leading zeros in IPv4 octets (they would read as octal elsewhere).
Result<IpAddress> parse_ip(std::string_view text);

class Cidr {
public:
    Cidr() = default;  // ::/128 — matches only ::
    // Host bits beyond the prefix are cleared, as chrony does with "allow 192.0.2.1/24".
    Cidr(const IpAddress& addr, int prefix_len) noexcept;

    const IpAddress& network() const noexcept { return net_; }
    int prefix_len() const noexcept { return len_; }  // within the family: 0..32 or 0..128
    bool is_v4() const noexcept { return net_.is_v4(); }

    bool contains(const IpAddress& addr) const noexcept {
        return addr.is_v4() == net_.is_v4() && (addr.hi() & mask_hi_) == net_hi_ &&
               (addr.lo() & mask_lo_) == net_lo_;
    }
    // Raw 4/16 bytes as from recvmsg; a span of any other size matches nothing.
    bool contains(std::span<const std::byte> raw) const noexcept;

    std::string to_string() const;  // "192.0.2.0/24", "2001:db8::/32"

    friend bool operator==(const Cidr& a, const Cidr& b) noexcept {
        return a.net_ == b.net_ && a.len_ == b.len_;
    }

private:
    IpAddress net_{};
    int len_ = 128;
    std::uint64_t net_hi_ = 0, net_lo_ = 0, mask_hi_ = ~std::uint64_t{0}, mask_lo_ = ~std::uint64_t{0};
};

// "192.0.2.0/24", "2001:db8::/32", or a bare address (= /32 or /128).
// Errors: "bad prefix length 33", "bad IPv4 address \"300.1.2.3\"", ...
Result<Cidr> parse_cidr(std::string_view text);

}  // namespace timepipe
