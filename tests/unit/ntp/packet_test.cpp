// NTP packet codec: a hand-decoded server reply, every ParseError, serialise errors, KoD,
// refid text and MD5 refids, and randomized byte-exact round trips (TIMEPIPE_SEED=N replays).
#include "libtime/ntp/packet.hpp"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/test_support.hpp"

namespace timepipe::ntp {
namespace {

using timepipe::test::test_seed;
using timepipe::test::hex;

using Bytes = std::vector<std::byte>;

// A stratum-2 server reply, every field distinct:
//   24        LI 0, VN 4, mode 4          02  stratum 2
//   06        poll 2^6 s                  EC  precision 2^-20 s
//   00 01 80 00  root delay 1.5 s         00 00 40 00  root dispersion 0.25 s
//   C0 00 02 01  refid 192.0.2.1
//   E9 00 00 00 00 00 00 00  reference  0xE9000000 s
//   E9 00 00 10 80 00 00 00  origin     0xE9000010.5 s
//   E9 00 00 11 40 00 00 00  receive    0xE9000011.25 s
//   E9 00 00 11 C0 00 00 00  transmit   0xE9000011.75 s
const char* kServerReply =
    "24 02 06 EC 00 01 80 00 00 00 40 00 C0 00 02 01"
    "E9 00 00 00 00 00 00 00 E9 00 00 10 80 00 00 00"
    "E9 00 00 11 40 00 00 00 E9 00 00 11 C0 00 00 00";

TEST(NtpPacket, DecodesEveryHeaderField) {
    const Bytes b = hex(kServerReply);
    ASSERT_EQ(b.size(), kHeaderSize);
    auto p = parse(b);
    ASSERT_TRUE(p) << to_string(p.error());
    const Header& h = p->header;
    EXPECT_EQ(h.leap, Leap::None);
    EXPECT_EQ(h.version, 4);
    EXPECT_EQ(h.mode, Mode::Server);
    EXPECT_EQ(h.stratum, 2);
    EXPECT_EQ(h.poll, 6);
    EXPECT_EQ(h.precision, -20);
    EXPECT_DOUBLE_EQ(short_to_seconds(h.root_delay), 1.5);
    EXPECT_DOUBLE_EQ(short_to_seconds(h.root_dispersion), 0.25);
    EXPECT_EQ(h.refid, 0xC000'0201u);
    EXPECT_EQ(refid_to_string(h.refid, h.stratum), "192.0.2.1");
    EXPECT_EQ(h.reference, NtpTimestamp::from_parts(0xE900'0000u, 0));
    EXPECT_EQ(h.origin, NtpTimestamp::from_parts(0xE900'0010u, 0x8000'0000u));
    EXPECT_EQ(h.receive, NtpTimestamp::from_parts(0xE900'0011u, 0x4000'0000u));
    EXPECT_EQ(h.transmit, NtpTimestamp::from_parts(0xE900'0011u, 0xC000'0000u));
    EXPECT_TRUE(p->extensions.empty());
    EXPECT_FALSE(p->mac);
    EXPECT_FALSE(is_kiss_of_death(h));

    std::byte out[64];
    auto n = serialize(h, {}, std::nullopt, out);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, kHeaderSize);
    EXPECT_TRUE(std::equal(b.begin(), b.end(), out));
}

TEST(NtpPacket, LeapAndNegativePollDecode) {
    Bytes b = hex(kServerReply);
    b[0] = std::byte{0xDC};  // LI 3, VN 3, mode 4
    b[2] = std::byte{0xFA};  // poll -6
    auto p = parse(b);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->header.leap, Leap::Unsynchronized);
    EXPECT_EQ(p->header.version, 3);
    EXPECT_EQ(p->header.poll, -6);
}

TEST(NtpPacket, AcceptsVersions1To4RejectsOthers) {
    for (unsigned v = 0; v < 8; ++v) {
        Bytes b = hex(kServerReply);
        b[0] = static_cast<std::byte>((v << 3) | 4);
        auto p = parse(b);
        if (v >= 1 && v <= 4) {
            ASSERT_TRUE(p) << v;
            EXPECT_EQ(p->header.version, v);
        } else {
            ASSERT_FALSE(p) << v;
            EXPECT_EQ(p.error(), ParseError::BadVersion) << v;
        }
    }
}

TEST(NtpPacket, EveryParseErrorIsReachable) {
    const Bytes reply = hex(kServerReply);
    auto error_of = [](const Bytes& b) { return parse(b).error(); };

    EXPECT_EQ(error_of({}), ParseError::TooShort);
    EXPECT_EQ(error_of(Bytes(reply.begin(), reply.end() - 1)), ParseError::TooShort);

    Bytes v0 = reply;
    v0[0] = std::byte{0x04};
    EXPECT_EQ(error_of(v0), ParseError::BadVersion);

    // ntpq's 12-octet mode-6 request and an ntpdc mode-7 monlist request.
    EXPECT_EQ(error_of(hex("16 02 00 01 00 00 00 00 00 00 00 00")), ParseError::ControlMode);
    EXPECT_EQ(error_of(hex("17 00 03 2A") ), ParseError::PrivateMode);

    Bytes bad_ef = reply;
    for (auto x : hex("00 02 00 0C 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"))
        bad_ef.push_back(x);  // 28 octets whose field claims 12
    EXPECT_EQ(error_of(bad_ef), ParseError::BadExtensionField);

    Bytes bad_mac = reply;
    bad_mac.resize(kHeaderSize + 12);
    EXPECT_EQ(error_of(bad_mac), ParseError::BadMacLength);
    Bytes v3_bad_mac = bad_mac;
    v3_bad_mac[0] = std::byte{0x1C};
    EXPECT_EQ(error_of(v3_bad_mac), ParseError::BadMacLength);

    Bytes odd = reply;
    odd.push_back(std::byte{0});
    EXPECT_EQ(error_of(odd), ParseError::TrailingBytes);
    Bytes v3_long = reply;
    v3_long[0] = std::byte{0x1C};
    v3_long.resize(kHeaderSize + 28);  // an NTPv3 packet has no extension fields
    EXPECT_EQ(error_of(v3_long), ParseError::TrailingBytes);
    Bytes v3_mac = v3_long;
    v3_mac.resize(kHeaderSize + 20);
    EXPECT_TRUE(parse(v3_mac));
    EXPECT_EQ(parse(v3_mac, ExtensionRules::Nts).error(), ParseError::TrailingBytes);  // NTS: no legacy MAC

    for (auto e : {ParseError::TooShort, ParseError::BadVersion, ParseError::ControlMode, ParseError::PrivateMode,
                   ParseError::BadExtensionField, ParseError::BadMacLength, ParseError::TrailingBytes})
        EXPECT_NE(to_string(e), "unknown parse error");
    EXPECT_EQ(to_string(ParseError::ControlMode), "control (mode 6) packet");
}

TEST(NtpPacket, ClientRequestWithMd5Mac) {
    Header h;
    h.mode = Mode::Client;
    h.transmit = NtpTimestamp{0x0123'4567'89AB'CDEFu};
    Bytes digest(16);
    for (std::size_t i = 0; i < digest.size(); ++i) digest[i] = std::byte(i * 7);
    std::byte out[128];
    auto n = serialize(h, {}, Mac{42, digest}, out);
    ASSERT_TRUE(n);
    ASSERT_EQ(*n, kHeaderSize + 20);
    EXPECT_EQ(out[0], std::byte{0x23});  // LI 0, VN 4, mode 3
    EXPECT_EQ(out[kHeaderSize + 3], std::byte{42});

    auto p = parse(std::span<const std::byte>(out, *n));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->header, h);
    ASSERT_TRUE(p->mac);
    EXPECT_EQ(p->mac->key_id, 42u);
    EXPECT_FALSE(p->mac->is_crypto_nak());
    EXPECT_TRUE(std::equal(digest.begin(), digest.end(), p->mac->digest.begin(), p->mac->digest.end()));
}

TEST(NtpPacket, CryptoNakAndSha1Mac) {
    Bytes b = hex(kServerReply);
    b.resize(kHeaderSize + 4);  // key id 0, no digest
    auto p = parse(b);
    ASSERT_TRUE(p);
    ASSERT_TRUE(p->mac);
    EXPECT_TRUE(p->mac->is_crypto_nak());
    EXPECT_EQ(p->mac->key_id, 0u);

    b.resize(kHeaderSize + 24);
    b[kHeaderSize + 3] = std::byte{9};
    p = parse(b);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->mac->key_id, 9u);
    EXPECT_EQ(p->mac->digest.size(), 20u);

    b[0] = std::byte{0x1C};  // the same for an NTPv3 packet
    p = parse(b);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->mac->digest.size(), 20u);
}

TEST(NtpPacket, ExtensionFieldsAndMacTogether) {
    Header h;
    h.mode = Mode::Client;
    const Bytes uid(32, std::byte{0x11});
    const Bytes cookie(100, std::byte{0x22});
    const ExtensionField fields[] = {{0x0104, uid}, {0x0204, cookie}};
    const Bytes digest(20, std::byte{0x33});
    std::byte out[512];
    auto n = serialize(h, fields, Mac{7, digest}, out);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, kHeaderSize + 36 + 104 + 24);
    auto p = parse(std::span<const std::byte>(out, *n));
    ASSERT_TRUE(p);
    EXPECT_EQ(p->extensions.count(), 2u);
    ASSERT_TRUE(p->extensions.find(0x0204));
    EXPECT_EQ(p->extensions.find(0x0204)->value.size(), 100u);
    ASSERT_TRUE(p->mac);
    EXPECT_EQ(p->mac->key_id, 7u);
}

TEST(NtpPacket, SerializeErrors) {
    std::byte out[256];
    Header h;
    EXPECT_EQ(serialize(h, {}, std::nullopt, std::span<std::byte>(out, 47)).error(), SerializeError::BufferTooSmall);

    const Bytes v(10);
    const ExtensionField f[] = {{1, v}};
    EXPECT_EQ(serialize(h, f, std::nullopt, std::span<std::byte>(out, 60)).error(), SerializeError::BufferTooSmall);
    const Bytes d16(16);
    EXPECT_EQ(serialize(h, {}, Mac{1, d16}, std::span<std::byte>(out, 60)).error(), SerializeError::BufferTooSmall);

    Header v8 = h;
    v8.version = 8;
    EXPECT_EQ(serialize(v8, {}, std::nullopt, out).error(), SerializeError::BadHeader);
    Header v3 = h;
    v3.version = 3;
    EXPECT_EQ(serialize(v3, f, std::nullopt, out).error(), SerializeError::BadHeader);
    Header bad_mode = h;
    bad_mode.mode = static_cast<Mode>(9);
    EXPECT_EQ(serialize(bad_mode, {}, std::nullopt, out).error(), SerializeError::BadHeader);

    const Bytes d8(8);
    EXPECT_EQ(serialize(h, {}, Mac{1, d8}, out).error(), SerializeError::BadMacLength);
    EXPECT_EQ(serialize(h, {}, Mac{1, d16}, out, ExtensionRules::Nts).error(), SerializeError::BadMacLength);
}

TEST(NtpPacket, NtsRulesAllowShortLastField) {
    Header h;
    const Bytes v(12);
    const ExtensionField f[] = {{0x0404, v}};
    std::byte out[128];
    auto n = serialize(h, f, std::nullopt, out, ExtensionRules::Nts);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, kHeaderSize + 16);
    EXPECT_TRUE(parse(std::span<const std::byte>(out, *n), ExtensionRules::Nts));
    EXPECT_EQ(parse(std::span<const std::byte>(out, *n)).error(), ParseError::BadMacLength);

    n = serialize(h, f, std::nullopt, out);  // default rules pad to 28
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, kHeaderSize + 28);
    EXPECT_TRUE(parse(std::span<const std::byte>(out, *n)));
}

TEST(NtpPacket, KissOfDeath) {
    Bytes b = hex(kServerReply);
    b[1] = std::byte{0};  // stratum 0
    const struct {
        const char* code;
        Kiss kind;
    } cases[] = {{"RATE", Kiss::Rate}, {"DENY", Kiss::Deny}, {"RSTR", Kiss::Rstr}, {"INIT", Kiss::Other},
                 {"NKEY", Kiss::Other}};
    for (const auto& c : cases) {
        for (int i = 0; i < 4; ++i) b[12 + static_cast<std::size_t>(i)] = static_cast<std::byte>(c.code[i]);
        auto p = parse(b);
        ASSERT_TRUE(p);
        EXPECT_TRUE(is_kiss_of_death(p->header)) << c.code;
        EXPECT_EQ(classify_kiss(p->header.refid), c.kind) << c.code;
        const auto code = kiss_code(p->header.refid);
        EXPECT_EQ(std::string(code.begin(), code.end()), c.code);
        EXPECT_EQ(refid_to_string(p->header.refid, 0), std::string(".") + c.code + ".");
    }
    Header h;
    h.stratum = 0;
    for (Mode m : {Mode::Server, Mode::SymmetricActive, Mode::SymmetricPassive, Mode::Broadcast}) {
        h.mode = m;
        EXPECT_TRUE(is_kiss_of_death(h)) << static_cast<int>(m);
    }
    h.mode = Mode::Client;  // every client request has stratum 0
    EXPECT_FALSE(is_kiss_of_death(h));
    h.mode = Mode::Server;
    h.stratum = 1;
    EXPECT_FALSE(is_kiss_of_death(h));
}

TEST(NtpPacket, OnlyRateDenyRstrActAsKisses) {
    // Stratum 0 with another code or none is an unsynchronised server (chronyd sends refid 0,
    // ntpd INIT), not a kiss: chronyd acts on RATE, DENY and RSTR alone.
    Header h;
    h.mode = Mode::Server;
    h.stratum = 0;
    h.leap = Leap::Unsynchronized;
    for (const char* code : {"RATE", "DENY", "RSTR"}) {
        h.refid = *refid_from_string(code);
        EXPECT_TRUE(acts_as_kiss(h)) << code;
    }
    for (std::uint32_t refid : {0u, *refid_from_string("INIT"), *refid_from_string("XYZW"), 0x7F7F0101u}) {
        h.refid = refid;
        EXPECT_TRUE(is_kiss_of_death(h)) << refid;
        EXPECT_FALSE(acts_as_kiss(h)) << refid;
    }
    h.refid = *refid_from_string("RATE");
    h.stratum = 2;
    EXPECT_FALSE(acts_as_kiss(h));
    h.stratum = 0;
    h.mode = Mode::Client;
    EXPECT_FALSE(acts_as_kiss(h));
}

TEST(NtpRefid, ToString) {
    EXPECT_EQ(refid_to_string(0x4750'5300u, 1), ".GPS.");
    EXPECT_EQ(refid_to_string(0x5050'5300u, 1), ".PPS.");
    EXPECT_EQ(refid_to_string(0x494E'4954u, 16), ".INIT.");
    EXPECT_EQ(refid_to_string(0x0000'0000u, 0), "..");
    EXPECT_EQ(refid_to_string(0x4C4F'434Cu, 1), ".LOCL.");
    EXPECT_EQ(refid_to_string(0x2020'2020u, 1), ".    .");
    EXPECT_EQ(refid_to_string(0xC000'0201u, 2), "192.0.2.1");
    EXPECT_EQ(refid_to_string(0x0A00'00FFu, 15), "10.0.0.255");
}

// ntpq shows a stratum 0/1 refid as text only when it is printable ASCII; otherwise the four
// octets as an address, as for stratum 2-15.
TEST(NtpRefid, UnprintableLowStratumIsDottedQuad) {
    EXPECT_EQ(refid_to_string(0x7F7F'0101u, 1), "127.127.1.1");  // chronyd's local stratum 1
    EXPECT_EQ(refid_to_string(0x7F7F'0101u, 0), "127.127.1.1");
    EXPECT_EQ(refid_to_string(0x7F7F'0101u, 16), "127.127.1.1");
    EXPECT_EQ(refid_to_string(0x4101'4200u, 1), "65.1.66.0");     // a control character
    EXPECT_EQ(refid_to_string(0x4100'4200u, 1), "65.0.66.0");     // NUL inside, not padding
    EXPECT_EQ(refid_to_string(0xC000'0201u, 1), "192.0.2.1");
    EXPECT_EQ(refid_to_string(0x4750'53FFu, 1), "71.80.83.255");  // 0xFF is not ASCII
    EXPECT_EQ(refid_to_string(0x4750'5300u, 1), ".GPS.");         // NUL padding is fine
    // What it prints parses back to the same refid.
    for (std::uint32_t r : {0x7F7F'0101u, 0x4101'4200u, 0x4100'4200u})
        EXPECT_EQ(refid_from_string(refid_to_string(r, 1)), r);
}

TEST(NtpRefid, FromString) {
    EXPECT_EQ(refid_from_string("192.0.2.1"), 0xC000'0201u);
    EXPECT_EQ(refid_from_string("0.0.0.0"), 0u);
    EXPECT_EQ(refid_from_string(".GPS."), 0x4750'5300u);
    EXPECT_EQ(refid_from_string("GPS"), 0x4750'5300u);
    EXPECT_EQ(refid_from_string("RATE"), 0x5241'5445u);
    EXPECT_EQ(refid_from_string("1234"), 0x3132'3334u);
    EXPECT_FALSE(refid_from_string(""));
    EXPECT_FALSE(refid_from_string(".."));
    EXPECT_FALSE(refid_from_string("TOOLONG"));
    EXPECT_FALSE(refid_from_string("1.2.3.256"));
    EXPECT_FALSE(refid_from_string("1.2.3"));
    EXPECT_FALSE(refid_from_string("A\tB"));
    for (std::uint32_t ip : {0xC000'0201u, 0x7F00'0001u, 0xFFFF'FFFFu})
        EXPECT_EQ(refid_from_string(refid_to_string(ip, 3)), ip);
    for (const char* s : {".GPS.", ".RATE.", ".X."}) EXPECT_EQ(refid_to_string(*refid_from_string(s), 1), s);
}

TEST(NtpRefid, Ipv6IsMd5Prefix) {
    // python3: hashlib.md5(ipaddress.IPv6Address(A).packed).hexdigest()[:8]
    std::array<std::byte, 16> loopback{};
    loopback[15] = std::byte{1};
    EXPECT_EQ(refid_from_ipv6(loopback), 0xCF40'4DC8u);  // ::1
    std::array<std::byte, 16> doc{};
    doc[0] = std::byte{0x20};
    doc[1] = std::byte{0x01};
    doc[2] = std::byte{0x0D};
    doc[3] = std::byte{0xB8};
    doc[15] = std::byte{1};
    EXPECT_EQ(refid_from_ipv6(doc), 0x39AB'9B37u);  // 2001:db8::1
}

// Random packets: serialise, parse back to the same values, and re-serialise to the same octets.
TEST(NtpPacketProperty, RoundTrip) {
    const std::uint64_t seed = test_seed("NtpPacketProperty.RoundTrip");
    SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    for (int iter = 0; iter < 20'000; ++iter) {
        Header h;
        h.leap = static_cast<Leap>(rng() % 4);
        h.version = static_cast<std::uint8_t>(1 + rng() % 4);
        do h.mode = static_cast<Mode>(rng() % 8);
        while (h.mode == Mode::Control || h.mode == Mode::Private);
        h.stratum = static_cast<std::uint8_t>(rng());
        h.poll = static_cast<std::int8_t>(rng());
        h.precision = static_cast<std::int8_t>(rng());
        h.root_delay = NtpShort{static_cast<std::uint32_t>(rng())};
        h.root_dispersion = NtpShort{static_cast<std::uint32_t>(rng())};
        h.refid = static_cast<std::uint32_t>(rng());
        h.reference = NtpTimestamp{rng()};
        h.origin = NtpTimestamp{rng()};
        h.receive = NtpTimestamp{rng()};
        h.transmit = NtpTimestamp{rng()};

        std::vector<Bytes> values(h.version == 4 ? rng() % 4 : 0);
        std::vector<ExtensionField> fields;
        for (auto& v : values) {
            v.resize(rng() % 64);
            for (auto& b : v) b = std::byte(rng());
            fields.push_back({static_cast<std::uint16_t>(rng()), v});
        }
        Bytes digest;
        std::optional<Mac> mac;
        if (rng() % 2) {
            static constexpr std::size_t kDigests[] = {0, 16, 20};
            digest.resize(kDigests[rng() % 3]);
            for (auto& b : digest) b = std::byte(rng());
            mac = Mac{static_cast<std::uint32_t>(rng()), digest};
        }

        Bytes out(1024);
        auto n = serialize(h, fields, mac, out);
        ASSERT_TRUE(n) << "iter " << iter;
        out.resize(*n);

        auto p = parse(out);
        ASSERT_TRUE(p) << "iter " << iter << ": " << to_string(p.error());
        EXPECT_EQ(p->header, h);
        EXPECT_EQ(p->extensions.count(), fields.size());
        ASSERT_EQ(p->mac.has_value(), mac.has_value());
        if (mac) {
            EXPECT_EQ(p->mac->key_id, mac->key_id);
            EXPECT_TRUE(std::equal(digest.begin(), digest.end(), p->mac->digest.begin(), p->mac->digest.end()));
        }

        std::vector<ExtensionField> again(p->extensions.begin(), p->extensions.end());
        Bytes out2(1024);
        auto n2 = serialize(p->header, again, p->mac, out2);
        ASSERT_TRUE(n2);
        ASSERT_EQ(*n2, out.size());
        EXPECT_TRUE(std::equal(out.begin(), out.end(), out2.begin())) << "iter " << iter;
    }
}

// encode_header: the one header encoder (serialize() and ntp-serve's responses use it). Each
// field lands where decode puts it back, and out-of-range version/mode never spill into the
// neighbouring bits.
TEST(NtpPacketProperty, EncodeHeaderDecodesBack) {
    const std::uint64_t seed = test_seed("NtpPacketProperty.EncodeHeaderDecodesBack");
    SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    for (int iter = 0; iter < 5'000; ++iter) {
        Header h;
        h.leap = static_cast<Leap>(rng() % 4);
        h.version = static_cast<std::uint8_t>(1 + rng() % 4);
        h.mode = static_cast<Mode>(rng() % 6);
        h.stratum = static_cast<std::uint8_t>(rng());
        h.poll = static_cast<std::int8_t>(rng());
        h.precision = static_cast<std::int8_t>(rng());
        h.root_delay = NtpShort{static_cast<std::uint32_t>(rng())};
        h.root_dispersion = NtpShort{static_cast<std::uint32_t>(rng())};
        h.refid = static_cast<std::uint32_t>(rng());
        h.reference = NtpTimestamp{rng()};
        h.origin = NtpTimestamp{rng()};
        h.receive = NtpTimestamp{rng()};
        h.transmit = NtpTimestamp{rng()};
        std::array<std::byte, kHeaderSize> out{};
        encode_header(h, out);
        auto p = parse(out);
        ASSERT_TRUE(p.has_value());
        ASSERT_EQ(p->header, h);
    }
    Header wide;
    wide.leap = Leap::None;
    wide.version = 12;  // 4 in three bits
    wide.mode = static_cast<Mode>(11);  // 3
    std::array<std::byte, kHeaderSize> out{};
    encode_header(wide, out);
    EXPECT_EQ(out[0], std::byte{0x23});
}

}  // namespace
}  // namespace timepipe::ntp
