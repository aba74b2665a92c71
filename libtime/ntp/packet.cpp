#include "libtime/ntp/packet.hpp"

#include <algorithm>
#include <charconv>

#include <openssl/evp.h>

#include "libtime/ntp/constants.hpp"

namespace timepipe::ntp {
namespace {

std::uint32_t load_be32(std::span<const std::byte> p) {
    return (std::to_integer<std::uint32_t>(p[0]) << 24) | (std::to_integer<std::uint32_t>(p[1]) << 16) |
           (std::to_integer<std::uint32_t>(p[2]) << 8) | std::to_integer<std::uint32_t>(p[3]);
}

std::uint64_t load_be64(std::span<const std::byte> p) {
    return (std::uint64_t{load_be32(p)} << 32) | load_be32(p.subspan(4));
}

void store_be32(std::span<std::byte> p, std::uint32_t v) {
    p[0] = static_cast<std::byte>(v >> 24);
    p[1] = static_cast<std::byte>(v >> 16);
    p[2] = static_cast<std::byte>(v >> 8);
    p[3] = static_cast<std::byte>(v);
}

void store_be64(std::span<std::byte> p, std::uint64_t v) {
    store_be32(p, static_cast<std::uint32_t>(v >> 32));
    store_be32(p.subspan(4), static_cast<std::uint32_t>(v));
}

constexpr std::uint32_t four_cc(char a, char b, char c, char d) {
    return (std::uint32_t{static_cast<unsigned char>(a)} << 24) | (std::uint32_t{static_cast<unsigned char>(b)} << 16) |
           (std::uint32_t{static_cast<unsigned char>(c)} << 8) | std::uint32_t{static_cast<unsigned char>(d)};
}

Header decode_header(std::span<const std::byte> p) {
    const auto b0 = std::to_integer<std::uint8_t>(p[0]);
    Header h;
    h.leap = static_cast<Leap>(b0 >> 6);
    h.version = static_cast<std::uint8_t>((b0 >> 3) & 7);
    h.mode = static_cast<Mode>(b0 & 7);
    h.stratum = std::to_integer<std::uint8_t>(p[1]);
    h.poll = static_cast<std::int8_t>(std::to_integer<std::uint8_t>(p[2]));
    h.precision = static_cast<std::int8_t>(std::to_integer<std::uint8_t>(p[3]));
    h.root_delay = NtpShort{load_be32(p.subspan(4))};
    h.root_dispersion = NtpShort{load_be32(p.subspan(8))};
    h.refid = load_be32(p.subspan(12));
    h.reference = NtpTimestamp{load_be64(p.subspan(16))};
    h.origin = NtpTimestamp{load_be64(p.subspan(24))};
    h.receive = NtpTimestamp{load_be64(p.subspan(32))};
    h.transmit = NtpTimestamp{load_be64(p.subspan(40))};
    return h;
}


std::optional<Mac> decode_mac(std::span<const std::byte> mac) {
    if (mac.empty()) return std::nullopt;
    return Mac{load_be32(mac), mac.subspan(4)};
}

ParseError from_extension_error(ExtensionError e) {
    switch (e) {
    case ExtensionError::BadField: return ParseError::BadExtensionField;
    case ExtensionError::BadMacLength: return ParseError::BadMacLength;
    case ExtensionError::Misaligned: return ParseError::TrailingBytes;
    }
    return ParseError::BadExtensionField;
}

bool printable(char c) { return c >= 0x20 && c < 0x7f; }

}  // namespace

std::string_view to_string(ParseError e) {
    switch (e) {
    case ParseError::TooShort: return "packet too short";
    case ParseError::BadVersion: return "bad version";
    case ParseError::ControlMode: return "control (mode 6) packet";
    case ParseError::PrivateMode: return "private (mode 7) packet";
    case ParseError::BadExtensionField: return "malformed extension field";
    case ParseError::BadMacLength: return "bad MAC length";
    case ParseError::TrailingBytes: return "trailing bytes";
    }
    return "unknown parse error";
}

Expected<PacketView, ParseError> parse(std::span<const std::byte> packet, ExtensionRules rules) {
    if (packet.empty()) return unexpected(ParseError::TooShort);
    // Version and mode first: mode 6/7 requests are shorter than 48 octets and deserve their own reason.
    const auto b0 = std::to_integer<unsigned>(packet[0]);
    const unsigned version = (b0 >> 3) & 7;
    if (version < 1 || version > 4) return unexpected(ParseError::BadVersion);
    if ((b0 & 7) == 6) return unexpected(ParseError::ControlMode);
    if ((b0 & 7) == 7) return unexpected(ParseError::PrivateMode);
    if (packet.size() < kHeaderSize) return unexpected(ParseError::TooShort);

    PacketView view{decode_header(packet), {}, std::nullopt};
    const auto rest = packet.subspan(kHeaderSize);
    if (version == 4) {
        auto split = split_extensions(rest, rules);
        if (!split) return unexpected(from_extension_error(split.error()));
        view.extensions = split->fields;
        view.mac = decode_mac(split->mac);
        return view;
    }
    // Versions 1-3 know no extension fields: only a MAC may follow, and none under NTS rules.
    const std::size_t mac_room = rules == ExtensionRules::Nts ? 0 : kMaxLegacyMacSize;
    if (rest.size() % 4 != 0 || rest.size() > mac_room) return unexpected(ParseError::TrailingBytes);
    if (!rest.empty() && rest.size() != 4 && rest.size() != 20 && rest.size() != 24)
        return unexpected(ParseError::BadMacLength);
    view.mac = decode_mac(rest);
    return view;
}

void encode_header(const Header& h, std::span<std::byte, kHeaderSize> p) noexcept {
    p[0] = static_cast<std::byte>(((static_cast<unsigned>(h.leap) & 3u) << 6) | ((unsigned{h.version} & 7u) << 3) |
                                  (static_cast<unsigned>(h.mode) & 7u));
    p[1] = static_cast<std::byte>(h.stratum);
    p[2] = static_cast<std::byte>(h.poll);
    p[3] = static_cast<std::byte>(h.precision);
    store_be32(p.subspan(4), h.root_delay.raw);
    store_be32(p.subspan(8), h.root_dispersion.raw);
    store_be32(p.subspan(12), h.refid);
    store_be64(p.subspan(16), h.reference.raw);
    store_be64(p.subspan(24), h.origin.raw);
    store_be64(p.subspan(32), h.receive.raw);
    store_be64(p.subspan(40), h.transmit.raw);
}

Expected<std::size_t, SerializeError> serialize(const Header& header, std::span<const ExtensionField> fields,
                                                const std::optional<Mac>& mac, std::span<std::byte> out,
                                                ExtensionRules rules) {
    if (static_cast<unsigned>(header.leap) > 3 || header.version > 7 || static_cast<unsigned>(header.mode) > 7 ||
        (!fields.empty() && header.version != 4))
        return unexpected(SerializeError::BadHeader);
    if (mac && ((mac->digest.size() != 0 && mac->digest.size() != 16 && mac->digest.size() != 20) ||
                rules == ExtensionRules::Nts))
        return unexpected(SerializeError::BadMacLength);
    if (out.size() < kHeaderSize) return unexpected(SerializeError::BufferTooSmall);

    encode_header(header, out.first<kHeaderSize>());
    std::size_t pos = kHeaderSize;
    auto written = write_extensions(fields, mac ? 4 + mac->digest.size() : 0, rules, out.subspan(pos));
    if (!written) return unexpected(written.error());
    pos += *written;
    if (mac) {
        if (out.size() - pos < 4 + mac->digest.size()) return unexpected(SerializeError::BufferTooSmall);
        store_be32(out.subspan(pos), mac->key_id);
        std::copy(mac->digest.begin(), mac->digest.end(), out.begin() + static_cast<std::ptrdiff_t>(pos + 4));
        pos += 4 + mac->digest.size();
    }
    return pos;
}

bool is_kiss_of_death(const Header& h) {
    if (h.stratum != 0) return false;
    switch (h.mode) {
    case Mode::SymmetricActive:
    case Mode::SymmetricPassive:
    case Mode::Server:
    case Mode::Broadcast: return true;
    default: return false;  // a client request has stratum 0 too
    }
}

Kiss classify_kiss(std::uint32_t refid) {
    switch (refid) {
    case four_cc('R', 'A', 'T', 'E'): return Kiss::Rate;
    case four_cc('D', 'E', 'N', 'Y'): return Kiss::Deny;
    case four_cc('R', 'S', 'T', 'R'): return Kiss::Rstr;
    case four_cc('N', 'T', 'S', 'N'): return Kiss::Ntsn;
    default: return Kiss::Other;
    }
}

bool acts_as_kiss(const Header& h) {
    if (!is_kiss_of_death(h)) return false;
    Kiss k = classify_kiss(h.refid);
    return k != Kiss::Other && k != Kiss::Ntsn;  // NTSN: the NTS client's own check (nts/ntp_fields)
}

std::array<char, 4> kiss_code(std::uint32_t refid) {
    return {static_cast<char>(refid >> 24), static_cast<char>(refid >> 16), static_cast<char>(refid >> 8),
            static_cast<char>(refid)};
}

std::string refid_to_string(std::uint32_t refid, std::uint8_t stratum) {
    if (stratum < 2 || stratum >= kMaxStratum) {
        const auto code = kiss_code(refid);
        std::size_t len = code.size();
        while (len > 0 && code[len - 1] == '\0') --len;  // ASCII refids are NUL-padded on the right
        if (std::all_of(code.begin(), code.begin() + len, printable)) return '.' + std::string(code.data(), len) + '.';
    }
    return std::to_string(refid >> 24) + '.' + std::to_string((refid >> 16) & 0xff) + '.' +
           std::to_string((refid >> 8) & 0xff) + '.' + std::to_string(refid & 0xff);
}

std::optional<std::uint32_t> refid_from_string(std::string_view text) {
    // Dotted quad: exactly four decimal octets.
    {
        std::uint32_t v = 0;
        const char* p = text.data();
        const char* end = text.data() + text.size();
        int parts = 0;
        bool ok = !text.empty();
        while (ok && parts < 4) {
            unsigned octet = 0;
            auto [next, ec] = std::from_chars(p, end, octet);
            ok = ec == std::errc{} && next != p && next - p <= 3 && octet <= 255;
            v = (v << 8) | octet;
            p = next;
            ++parts;
            if (ok && parts < 4) ok = p != end && *p++ == '.';
        }
        if (ok && p == end) return v;
    }
    // ASCII: strip one pair of surrounding dots, then 1-4 printable characters, NUL-padded.
    if (text.size() >= 2 && text.front() == '.' && text.back() == '.') text = text.substr(1, text.size() - 2);
    if (text.empty() || text.size() > 4 || !std::all_of(text.begin(), text.end(), printable)) return std::nullopt;
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | (i < text.size() ? static_cast<unsigned char>(text[i]) : 0u);
    return v;
}

std::optional<std::uint32_t> refid_from_ipv6(std::span<const std::byte, 16> address) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(address.data(), address.size(), md, &len, EVP_md5(), nullptr) != 1 || len < 4) return std::nullopt;
    return (std::uint32_t{md[0]} << 24) | (std::uint32_t{md[1]} << 16) | (std::uint32_t{md[2]} << 8) | md[3];
}

}  // namespace timepipe::ntp
