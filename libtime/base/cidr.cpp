#include "libtime/base/cidr.hpp"

#include <algorithm>
#include <cstdio>

namespace timepipe {
namespace {

constexpr std::uint64_t kMappedHi = 0;
constexpr std::uint64_t kMappedLoTop = 0x0000'ffff'0000'0000ULL;  // ::ffff:0:0/96, low word part
constexpr std::uint64_t kAll = ~std::uint64_t{0};

// Mask words for the first `bits` bits of 128.
void mask_words(int bits, std::uint64_t& hi, std::uint64_t& lo) noexcept {
    bits = std::clamp(bits, 0, 128);
    hi = bits >= 64 ? kAll : (bits == 0 ? 0 : kAll << (64 - bits));
    lo = bits <= 64 ? 0 : (bits == 128 ? kAll : kAll << (128 - bits));
}

// Untrusted text in an error message: bounded, printable.
std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size() && i < 64; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        out += (c >= 0x20 && c < 0x7f && c != '"') ? static_cast<char>(c) : '?';
    }
    if (s.size() > 64) out += "...";
    return out + "\"";
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Exactly four decimal octets 0..255, no leading zeros, nothing else.
std::optional<std::uint32_t> parse_v4(std::string_view s) noexcept {
    std::uint32_t out = 0;
    int octets = 0;
    std::size_t i = 0;
    while (octets < 4) {
        if (i >= s.size() || s[i] < '0' || s[i] > '9') return std::nullopt;
        std::size_t start = i;
        unsigned v = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + static_cast<unsigned>(s[i] - '0');
            if (v > 255 || i - start >= 3) return std::nullopt;
            ++i;
        }
        if (i - start > 1 && s[start] == '0') return std::nullopt;
        out = (out << 8) | v;
        ++octets;
        if (octets < 4) {
            if (i >= s.size() || s[i] != '.') return std::nullopt;
            ++i;
        }
    }
    if (i != s.size()) return std::nullopt;
    return out;
}

// One side of "::": colon-separated groups of 1-4 hex digits; the last may be a dotted quad
// if `allow_v4_tail`. Appends 16-bit groups to `out`, returns false on any malformation.
bool parse_groups(std::string_view s, bool allow_v4_tail, std::array<std::uint16_t, 8>& out,
                  int& n) noexcept {
    if (s.empty()) return true;
    std::size_t pos = 0;
    for (;;) {
        std::size_t colon = s.find(':', pos);
        std::string_view part = s.substr(pos, colon == std::string_view::npos ? s.npos : colon - pos);
        bool last = colon == std::string_view::npos;
        if (last && allow_v4_tail && part.find('.') != std::string_view::npos) {
            auto v4 = parse_v4(part);
            if (!v4 || n > 6) return false;
            out[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(*v4 >> 16);
            out[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(*v4 & 0xffff);
            return true;
        }
        if (part.empty() || part.size() > 4 || n >= 8) return false;
        unsigned v = 0;
        for (char c : part) {
            int h = hex_value(c);
            if (h < 0) return false;
            v = (v << 4) | static_cast<unsigned>(h);
        }
        out[static_cast<std::size_t>(n++)] = static_cast<std::uint16_t>(v);
        if (last) return true;
        pos = colon + 1;
    }
}

std::optional<IpAddress> parse_v6(std::string_view s) noexcept {
    std::array<std::uint16_t, 8> head{}, tail{};
    int nh = 0, nt = 0;
    std::size_t gap = s.find("::");
    if (gap == std::string_view::npos) {
        if (!parse_groups(s, true, head, nh) || nh != 8) return std::nullopt;
    } else {
        std::string_view after = s.substr(gap + 2);
        if (after.find("::") != std::string_view::npos) return std::nullopt;
        // "1:::2" leaves a leading ':' in `after`, caught as an empty group.
        if (!parse_groups(s.substr(0, gap), false, head, nh)) return std::nullopt;
        if (!parse_groups(after, true, tail, nt)) return std::nullopt;
        if (nh + nt > 7) return std::nullopt;  // "::" stands for at least one zero group
    }
    std::array<std::uint16_t, 8> g{};
    std::copy_n(head.begin(), nh, g.begin());
    std::copy_n(tail.begin(), nt, g.end() - nt);
    std::array<std::byte, 16> b{};
    for (std::size_t i = 0; i < 8; ++i) {
        b[2 * i] = static_cast<std::byte>(g[i] >> 8);
        b[2 * i + 1] = static_cast<std::byte>(g[i] & 0xff);
    }
    return IpAddress::from_bytes(b);
}

IpAddress words_to_addr(std::uint64_t hi, std::uint64_t lo) noexcept {
    std::array<std::byte, 16> b{};
    for (std::size_t i = 0; i < 8; ++i) {
        b[i] = static_cast<std::byte>((hi >> (56 - 8 * i)) & 0xff);
        b[8 + i] = static_cast<std::byte>((lo >> (56 - 8 * i)) & 0xff);
    }
    return *IpAddress::from_bytes(b);
}

}  // namespace

// --- IpAddress ----------------------------------------------------------------------------

std::optional<IpAddress> IpAddress::from_bytes(std::span<const std::byte> raw) noexcept {
    IpAddress a;
    if (raw.size() == 4) {
        a.b_[10] = a.b_[11] = std::byte{0xff};
        std::copy(raw.begin(), raw.end(), a.b_.begin() + 12);
    } else if (raw.size() == 16) {
        std::copy(raw.begin(), raw.end(), a.b_.begin());
    } else {
        return std::nullopt;
    }
    return a;
}

IpAddress IpAddress::v4(std::uint32_t host_order) noexcept {
    return words_to_addr(kMappedHi, kMappedLoTop | host_order);
}

std::uint64_t IpAddress::hi() const noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | std::to_integer<std::uint64_t>(b_[i]);
    return v;
}

std::uint64_t IpAddress::lo() const noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 8; i < 16; ++i) v = (v << 8) | std::to_integer<std::uint64_t>(b_[i]);
    return v;
}

bool IpAddress::is_v4() const noexcept {
    return hi() == kMappedHi && (lo() >> 32) == (kMappedLoTop >> 32);
}

IpAddress IpAddress::masked(int prefix_len) const noexcept {
    const bool v4 = is_v4();
    int bits = v4 ? 96 + std::clamp(prefix_len, 0, 32) : prefix_len;
    std::uint64_t mh, ml;
    mask_words(bits, mh, ml);
    return words_to_addr(hi() & mh, lo() & ml);
}

std::string IpAddress::to_string() const {
    char buf[48];
    if (is_v4()) {
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", std::to_integer<unsigned>(b_[12]),
                      std::to_integer<unsigned>(b_[13]), std::to_integer<unsigned>(b_[14]),
                      std::to_integer<unsigned>(b_[15]));
        return buf;
    }
    std::array<unsigned, 8> g{};
    for (std::size_t i = 0; i < 8; ++i)
        g[i] = std::to_integer<unsigned>(b_[2 * i]) << 8 | std::to_integer<unsigned>(b_[2 * i + 1]);
    // RFC 5952 §4.2: compress the longest run (>= 2) of zero groups, the first one on a tie.
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        if (g[static_cast<std::size_t>(i)] != 0) { ++i; continue; }
        int j = i;
        while (j < 8 && g[static_cast<std::size_t>(j)] == 0) ++j;
        if (j - i > best_len) { best = i; best_len = j - i; }
        i = j;
    }
    std::string out;
    for (int i = 0; i < 8; ++i) {
        if (i == best) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        std::snprintf(buf, sizeof buf, "%x", g[static_cast<std::size_t>(i)]);
        out += buf;
    }
    return out;
}

Result<IpAddress> parse_ip(std::string_view text) {
    if (text.find(':') != std::string_view::npos) {
        if (auto a = parse_v6(text)) return *a;
        return fail("bad IPv6 address " + quoted(text), EX_USAGE);
    }
    if (auto v = parse_v4(text)) return IpAddress::v4(*v);
    return fail("bad IPv4 address " + quoted(text), EX_USAGE);
}

// --- Cidr ---------------------------------------------------------------------------------

Cidr::Cidr(const IpAddress& addr, int prefix_len) noexcept {
    const bool v4 = addr.is_v4();
    len_ = std::clamp(prefix_len, 0, v4 ? 32 : 128);
    net_ = addr.masked(len_);
    mask_words(v4 ? 96 + len_ : len_, mask_hi_, mask_lo_);
    net_hi_ = net_.hi();
    net_lo_ = net_.lo();
}

bool Cidr::contains(std::span<const std::byte> raw) const noexcept {
    auto a = IpAddress::from_bytes(raw);
    return a && contains(*a);
}

std::string Cidr::to_string() const { return net_.to_string() + "/" + std::to_string(len_); }

Result<Cidr> parse_cidr(std::string_view text) {
    std::size_t slash = text.find('/');
    auto addr = parse_ip(text.substr(0, slash));
    if (!addr) return Unexpected<Error>{addr.error()};
    // An IPv4 address written in IPv6 text (::ffff:a.b.c.d) carries an IPv6-sized prefix.
    const bool v6_text = text.substr(0, slash).find(':') != std::string_view::npos;
    const int max_len = v6_text ? 128 : 32;
    if (slash == std::string_view::npos) return Cidr(*addr, addr->is_v4() ? 32 : 128);

    std::string_view num = text.substr(slash + 1);
    bool digits = !num.empty() && num.size() <= 3 &&
                  std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || (num.size() > 1 && num[0] == '0'))
        return fail("bad prefix length " + quoted(num), EX_USAGE);
    int len = 0;
    for (char c : num) len = len * 10 + (c - '0');
    if (len > max_len) return fail("bad prefix length " + std::to_string(len), EX_USAGE);

    if (addr->is_v4() && v6_text) {
        // ::ffff:192.0.2.0/120 is 192.0.2.0/24; shorter prefixes leave the mapped range and
        // become an IPv6 rule over the masked bits (which matches no IPv4 peer).
        if (len >= 96) return Cidr(*addr, len - 96);
        std::uint64_t mh, ml;
        mask_words(len, mh, ml);
        return Cidr(words_to_addr(addr->hi() & mh, addr->lo() & ml), len);
    }
    return Cidr(*addr, len);
}

}  // namespace timepipe
