// NTP packet codec (RFC 5905 §7.3): the 48-octet header, RFC 7822 extension fields and the
// legacy MAC. Zero allocation, no exceptions; the view borrows the caller's buffer.
//
//   auto p = ntp::parse(datagram);                      // Expected<PacketView, ParseError>
//   if (!p) { limiter.warnx("%s: %s", peer, std::string(to_string(p.error())).c_str()); return; }
//   if (acts_as_kiss(p->header)) handle(classify_kiss(p->header.refid));
//
//   ntp::Header h;  h.mode = ntp::Mode::Client;  h.transmit = cookie;
//   std::array<std::byte, 1024> buf;
//   auto n = ntp::serialize(h, {}, std::nullopt, buf);  // Expected<std::size_t, SerializeError>
//
// parse(serialize(x)) == x, and serialize(parse(bytes)) == bytes for every packet that parses.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "libtime/base/expected.hpp"
#include "libtime/ntp/extension.hpp"
#include "libtime/ntp/timestamp.hpp"

namespace timepipe::ntp {

inline constexpr std::size_t kHeaderSize = 48;

enum class Leap : std::uint8_t { None = 0, InsertSecond = 1, DeleteSecond = 2, Unsynchronized = 3 };

enum class Mode : std::uint8_t {
    Reserved = 0,  // also what NTPv1 clients send
    SymmetricActive = 1,
    SymmetricPassive = 2,
    Client = 3,
    Server = 4,
    Broadcast = 5,
    Control = 6,  // ntpq; never answered by timepipe, parse() reports it as an error
    Private = 7,  // ntpdc (monlist amplification); likewise
};

struct Header {
    Leap leap = Leap::None;
    std::uint8_t version = 4;
    Mode mode = Mode::Client;
    std::uint8_t stratum = 0;
    std::int8_t poll = 0;       // log2 s
    std::int8_t precision = 0;  // log2 s
    NtpShort root_delay;
    NtpShort root_dispersion;
    std::uint32_t refid = 0;  // the four octets big-endian: 'R','A','T','E' is 0x52415445
    NtpTimestamp reference;
    NtpTimestamp origin;
    NtpTimestamp receive;
    NtpTimestamp transmit;
    friend bool operator==(const Header&, const Header&) = default;
};

// Legacy MAC: key id, then a 16-octet (MD5) or 20-octet (SHA-1) digest, or no digest at all
// (crypto-NAK, RFC 5905 §7.4).
struct Mac {
    std::uint32_t key_id = 0;
    std::span<const std::byte> digest;
    bool is_crypto_nak() const { return digest.empty(); }
};

struct PacketView {
    Header header;
    ExtensionFields extensions;  // empty for versions 1-3
    std::optional<Mac> mac;
};

enum class ParseError {
    TooShort,           // fewer than 48 octets
    BadVersion,         // 0 or 5-7 (1-4 accepted, RFC 5905 §7.3)
    ControlMode,        // mode 6; checked before the length since ntpq requests are 12 octets
    PrivateMode,        // mode 7; likewise
    BadExtensionField,  // see libtime/ntp/extension.hpp
    BadMacLength,       // trailing octets that are not a 4/20/24-octet MAC
    TrailingBytes,      // not whole words, or > 24 octets (NTS rules: any) after a v1-3 header
};
std::string_view to_string(ParseError e);  // static strings

Expected<PacketView, ParseError> parse(std::span<const std::byte> packet,
                                       ExtensionRules rules = ExtensionRules::Rfc7822);

// Header, then `fields` (padded per libtime/ntp/extension.hpp), then `mac` if given. Extension fields
// need version 4; a MAC digest must be 0, 16 or 20 octets. Returns the octets written.
Expected<std::size_t, SerializeError> serialize(const Header& header, std::span<const ExtensionField> fields,
                                                const std::optional<Mac>& mac, std::span<std::byte> out,
                                                ExtensionRules rules = ExtensionRules::Rfc7822);

// The 48-octet header alone (RFC 5905 Figure 8), for a path that must not fail or branch on
// buffer sizes (ntp-serve's responses): never fails; version and mode are taken modulo 8, as the
// 3-bit fields hold them. serialize() writes its header with this.
void encode_header(const Header& header, std::span<std::byte, kHeaderSize> out) noexcept;

// --- Kiss-o'-Death (RFC 5905 §7.4) ------------------------------------------------------------
// A stratum-0 packet from a server or peer (modes 1, 2, 4, 5); the refid carries the kiss code.
bool is_kiss_of_death(const Header& h);
// RATE: slow down; DENY/RSTR: stop using this server; NTSN (RFC 8915 §5.7): the NTS cookie or
// authenticator did not open, run NTS-KE again (a kiss only for an NTS client, which checks it).
enum class Kiss { Rate, Deny, Rstr, Ntsn, Other };
Kiss classify_kiss(std::uint32_t refid);
std::array<char, 4> kiss_code(std::uint32_t refid);  // the four octets as characters, NULs kept
// Whether a client should act on it as a kiss: is_kiss_of_death with RATE, DENY or RSTR, as
// chronyd does (NTSN joins them with NTS). Stratum 0 with any other code, or none, is what an
// unsynchronised server sends (chronyd, ntp-serve without time): no kiss.
bool acts_as_kiss(const Header& h);

// --- Reference identifier --------------------------------------------------------------------
// As ntpq shows it: stratum 0, 1 and >= 16 carry up to four ASCII characters (NUL-padded),
// shown between dots (".GPS.", ".RATE."); stratum 2-15 an IPv4 address "192.0.2.1", and so does a
// stratum 0/1/16 refid that is not printable ASCII (chronyd's "local stratum 1" sends
// 0x7F7F0101: "127.127.1.1").
std::string refid_to_string(std::uint32_t refid, std::uint8_t stratum);
// Accepts "a.b.c.d" (IPv4) or 1-4 printable ASCII characters, optionally between dots.
std::optional<std::uint32_t> refid_from_string(std::string_view text);
// An IPv6 upstream is identified by the first four octets of the MD5 of its address (RFC 5905
// §7.3). Uses libcrypto; nullopt only if MD5 is unavailable (e.g. a FIPS-only provider).
std::optional<std::uint32_t> refid_from_ipv6(std::span<const std::byte, 16> address);

}  // namespace timepipe::ntp
