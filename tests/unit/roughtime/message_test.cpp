// Roughtime message codec: hand-built messages, roughenough's golden response encoded byte for
// byte, every strict-parse rejection, framing, version table and negotiation, and randomized
// round trips (TIMEPIPE_SEED=N replays).
#include "libtime/roughtime/message.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "libtime/roughtime/version.hpp"
#include "libtime/base/unix_time.hpp"
#include "tests/unit/test_support.hpp"

namespace timepipe::roughtime {
namespace {

using Bytes = std::vector<std::byte>;
using timepipe::test::to_bytes;
using timepipe::test::hex;
using timepipe::test::read_vector;
using timepipe::test::test_seed;

TEST(RoughtimeMessage, TagValues) {
    // RFC 10049 §12 (IANA registry): the tag as a little-endian uint32.
    EXPECT_EQ(tag::SIG, 0x00474953u);
    EXPECT_EQ(tag::VER, 0x00524556u);
    EXPECT_EQ(tag::SRV, 0x00565253u);
    EXPECT_EQ(tag::NONC, 0x434e4f4eu);
    EXPECT_EQ(tag::DELE, 0x454c4544u);
    EXPECT_EQ(tag::TYPE, 0x45505954u);
    EXPECT_EQ(tag::PATH, 0x48544150u);
    EXPECT_EQ(tag::RADI, 0x49444152u);
    EXPECT_EQ(tag::PUBK, 0x4b425550u);
    EXPECT_EQ(tag::MIDP, 0x5044494du);
    EXPECT_EQ(tag::SREP, 0x50455253u);
    EXPECT_EQ(tag::MINT, 0x544e494du);
    EXPECT_EQ(tag::ROOT, 0x544f4f52u);
    EXPECT_EQ(tag::CERT, 0x54524543u);
    EXPECT_EQ(tag::MAXT, 0x5458414du);
    EXPECT_EQ(tag::INDX, 0x58444e49u);
    EXPECT_EQ(tag::ZZZZ, 0x5a5a5a5au);
    EXPECT_EQ(tag::PAD, 0xff444150u);
    EXPECT_EQ(tag_to_string(tag::SIG), "SIG");
    EXPECT_EQ(tag_to_string(tag::PAD), "PAD\\xff");
}

TEST(RoughtimeMessage, DecodesAHandBuiltMessage) {
    // 2 tags: offset[1] = 4; tags NONC < PAD\xff; values 4 + 8 octets.
    const Bytes b = hex("02000000 04000000 4e4f4e43 504144ff  01020304  0000000000000000");
    auto m = parse_message(b);
    ASSERT_TRUE(m) << to_string(m.error());
    EXPECT_EQ(m->size(), 2u);
    EXPECT_EQ(m->tag_at(0), tag::NONC);
    EXPECT_EQ(to_bytes(*m->find(tag::NONC)), hex("01020304"));
    EXPECT_EQ(m->find(tag::PAD)->size(), 8u);
    EXPECT_EQ(m->u32(tag::NONC), 0x04030201u);
    EXPECT_EQ(m->u64(tag::PAD), 0u);
    EXPECT_FALSE(m->find(tag::SIG));
    EXPECT_FALSE(m->u64(tag::NONC));  // wrong size
    EXPECT_EQ(m->message(tag::SIG).error(), ParseError::MissingTag);

    // The empty message is exactly 4 octets.
    auto e = parse_message(hex("00000000"));
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->empty());
    MessageBuilder none;
    EXPECT_EQ(none.to_vector(), hex("00000000"));
}

TEST(RoughtimeMessage, StrictRejections) {
    struct Case {
        const char* name;
        const char* hex;
        ParseError want;
    };
    const Case cases[] = {
        {"short", "0100", ParseError::TooShort},
        {"not whole words", "01000000 4e4f4e43 0102", ParseError::NotWordAligned},
        {"header longer than the message", "03000000 00000000", ParseError::TooShort},
        {"huge tag count", "ffffffff 00000000", ParseError::TooShort},
        {"unsorted tags", "02000000 04000000 504144ff 4e4f4e43 01020304 05060708", ParseError::TagsNotAscending},
        {"repeated tag", "02000000 04000000 4e4f4e43 4e4f4e43 01020304 05060708", ParseError::TagsNotAscending},
        {"misaligned offset", "02000000 02000000 4e4f4e43 504144ff 01020304 05060708", ParseError::OffsetMisaligned},
        {"offset past the end", "02000000 0c000000 4e4f4e43 504144ff 01020304 05060708", ParseError::OffsetOutOfBounds},
        {"decreasing offsets", "03000000 08000000 04000000 4e4f4e43 504144ff 5a5a5a5a 01020304 05060708 090a0b0c",
         ParseError::OffsetsDecreasing},
        {"junk after an empty message", "00000000 00000000", ParseError::TrailingBytes},
    };
    for (const auto& c : cases) {
        auto m = parse_message(hex(c.hex));
        ASSERT_FALSE(m) << c.name;
        EXPECT_EQ(m.error(), c.want) << c.name << ": " << to_string(m.error());
        EXPECT_FALSE(to_string(m.error()).empty());
    }
}

TEST(RoughtimeMessage, NestingIsBounded) {
    // A message whose only value is itself a message, nested kMaxDepth + 1 times.
    Bytes inner = hex("00000000");
    std::vector<Bytes> levels{inner};
    for (int i = 0; i < kMaxDepth + 1; ++i) {
        MessageBuilder b;
        b.add(tag::CERT, levels.back());
        levels.push_back(b.to_vector());
    }
    auto m = parse_message(levels.back());
    ASSERT_TRUE(m);
    // depth 0 -> 1 -> 2 works, 3 does not.
    auto d1 = m->message(tag::CERT);
    ASSERT_TRUE(d1);
    auto d2 = d1->message(tag::CERT);
    ASSERT_TRUE(d2);
    EXPECT_EQ(d2->depth(), 2);
    auto d3 = d2->message(tag::CERT);
    ASSERT_FALSE(d3);
    EXPECT_EQ(d3.error(), ParseError::TooDeep);
    EXPECT_EQ(parse_message(inner, kMaxDepth + 1).error(), ParseError::TooDeep);
}

TEST(RoughtimeMessage, Framing) {
    const Bytes msg = hex("00000000");
    MessageBuilder b;
    const Bytes framed = b.to_vector(true);
    EXPECT_EQ(framed, hex("524f55474854494d 04000000 00000000"));
    EXPECT_TRUE(is_framed(framed));
    EXPECT_EQ(to_bytes(*unframe(framed)), msg);
    Bytes longer = framed;
    longer.push_back(std::byte{0});
    EXPECT_EQ(unframe(longer).error(), ParseError::FrameLength);
    EXPECT_EQ(unframe(std::span<const std::byte>(framed).first(11)).error(), ParseError::BadFrame);
    EXPECT_EQ(unframe(msg).error(), ParseError::BadFrame);
    EXPECT_FALSE(is_framed(msg));
}

// The one frame-header decoder (TCP streams in roughtime-serve and roughtime-query, datagrams
// through unframe).
TEST(RoughtimeMessage, FramedLength) {
    std::vector<std::byte> h(12);
    const char magic[] = "ROUGHTIM";
    for (int i = 0; i < 8; ++i) h[static_cast<std::size_t>(i)] = static_cast<std::byte>(magic[i]);
    h[8] = std::byte{0x10};
    h[9] = std::byte{0x01};  // 0x0110 = 272
    EXPECT_EQ(framed_length(h, 65536).value(), 12u + 272u);
    EXPECT_EQ(framed_length(h, 284).value(), 284u);
    EXPECT_EQ(framed_length(h, 283).error(), FrameError::TooLong);
    h[11] = std::byte{0xff};  // 4 GiB and more: no overflow
    EXPECT_EQ(framed_length(h, 65536).error(), FrameError::TooLong);
    h[11] = std::byte{0};
    for (std::size_t n = 0; n < 12; ++n)  // a valid start, not all there yet
        EXPECT_EQ(framed_length(std::span(h).first(n), 65536).error(), FrameError::Incomplete) << n;
    h[0] = std::byte{'X'};
    EXPECT_EQ(framed_length(h, 65536).error(), FrameError::BadFrame);
    EXPECT_EQ(framed_length(std::span(h).first(1), 65536).error(), FrameError::BadFrame);  // known at once
    h[0] = std::byte{'R'};
    h[7] = std::byte{'X'};
    EXPECT_EQ(framed_length(std::span(h).first(7), 65536).error(), FrameError::Incomplete);
    EXPECT_EQ(framed_length(std::span(h).first(8), 65536).error(), FrameError::BadFrame);
    EXPECT_EQ(to_string(FrameError::BadFrame), "no ROUGHTIM frame");
}

TEST(RoughtimeMessage, GoldenResponseEncodesByteExactly) {
    const Bytes golden = read_vector("roughenough/golden-response.phase8");
    ASSERT_EQ(golden.size(), 484u);
    // roughenough's dummy values: SIGs of 0x33 and 0x22, NONC 0x44, PUBK 0x11, ROOT 0xcd,
    // PATH 00..3f, MIDP/MINT/MAXT counting octets, INDX 7.
    const Bytes sig(64, std::byte{0x33}), nonce(32, std::byte{0x44}), cert_sig(64, std::byte{0x22}),
        pubk(32, std::byte{0x11}), root(32, std::byte{0xcd});
    Bytes path(64);
    for (std::size_t i = 0; i < path.size(); ++i) path[i] = static_cast<std::byte>(i);
    MessageBuilder dele;
    dele.add(tag::PUBK, pubk).add_u64(tag::MINT, 0x0102030405060708).add_u64(tag::MAXT, 0x1112131415161718);
    const Bytes dele_bytes = dele.to_vector();
    MessageBuilder cert;
    cert.add(tag::DELE, dele_bytes).add(tag::SIG, cert_sig);  // order given does not matter
    const Bytes cert_bytes = cert.to_vector();
    const Version vers[] = {Version::Draft12, Version::Rfc};
    std::array<std::byte, 8> vers_value{};
    ASSERT_EQ(write_version_list(vers, vers_value), 8u);
    MessageBuilder srep;
    srep.add(tag::ROOT, root).add_u64(tag::MIDP, 0x1122334455667788).add_u32(tag::RADI, 5)
        .add_u32(tag::VER, 0x8000000c).add(tag::VERS, vers_value);
    const Bytes srep_bytes = srep.to_vector();
    MessageBuilder resp;
    resp.add_u32(tag::INDX, 7).add(tag::CERT, cert_bytes).add(tag::SREP, srep_bytes)
        .add(tag::PATH, path).add_u32(tag::TYPE, 1).add(tag::NONC, nonce).add(tag::SIG, sig);
    const Bytes built = resp.to_vector(true);
    ASSERT_EQ(built.size(), golden.size());
    for (std::size_t i = 0; i < golden.size(); ++i)
        ASSERT_EQ(built[i], golden[i]) << "first difference at octet " << i;

    // And what parses re-serialises to the same octets.
    auto m = parse_message(*unframe(golden));
    ASSERT_TRUE(m);
    MessageBuilder again;
    for (std::size_t i = 0; i < m->size(); ++i) again.add(m->tag_at(i), m->value_at(i));
    EXPECT_EQ(again.to_vector(true), golden);
}

TEST(RoughtimeMessage, EveryVectorPacketParsesAndRoundTrips) {
    for (const char* f : {"roughenough/rfc-request.071039e5", "roughenough/rfc-response.071039e5",
                          "roughenough/rfc-response.path8.index2.4c16c619", "roughenough/rfc-request.SRV.417aa962",
                          "roughenough/golden-response.phase8"}) {
        SCOPED_TRACE(f);
        const Bytes b = read_vector(f);
        auto body = unframe(b);
        ASSERT_TRUE(body);
        auto m = parse_message(*body);
        ASSERT_TRUE(m) << to_string(m.error());
        MessageBuilder again;
        for (std::size_t i = 0; i < m->size(); ++i) again.add(m->tag_at(i), m->value_at(i));
        EXPECT_EQ(again.to_vector(true), b);
    }
    // The batched response: INDX 2, eight 32-octet PATH hashes, nested messages intact.
    const Bytes p8 = read_vector("roughenough/rfc-response.path8.index2.4c16c619");
    auto m = parse_message(*unframe(p8));
    ASSERT_TRUE(m);
    EXPECT_EQ(m->u32(tag::INDX), 2u);
    EXPECT_EQ(m->find(tag::PATH)->size(), 8u * 32u);
    auto srep = m->message(tag::SREP);
    ASSERT_TRUE(srep);
    EXPECT_EQ(srep->u32(tag::VER), 0x8000000cu);
    EXPECT_EQ(srep->u32(tag::RADI), 5u);
    auto dele = m->message(tag::CERT)->message(tag::DELE);
    ASSERT_TRUE(dele);
    EXPECT_EQ(dele->find(tag::PUBK)->size(), 32u);
    // The SRV request carries a 32-octet SRV.
    const Bytes srv_req = read_vector("roughenough/rfc-request.SRV.417aa962");
    auto s = parse_message(*unframe(srv_req));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->find(tag::SRV)->size(), 32u);
    EXPECT_EQ(srv_req.size(), 1024u);
}

// add() borrows its value: a temporary container would dangle, so it must not compile; lvalue
// containers and views (spans, even temporary ones) still do.
template <class V>
concept Addable = requires(MessageBuilder b, V&& v) { b.add(tag::NONC, std::forward<V>(v)); };
static_assert(Addable<Bytes&>);
static_assert(Addable<const Bytes&>);
static_assert(Addable<std::array<std::byte, 4>&>);
static_assert(Addable<std::span<const std::byte>>);
static_assert(Addable<std::span<std::byte>>);
static_assert(!Addable<Bytes>);
static_assert(!Addable<Bytes&&>);
static_assert(!Addable<std::array<std::byte, 4>>);

TEST(RoughtimeMessage, BuilderErrors) {
    const Bytes three(3);
    MessageBuilder odd;
    odd.add(tag::NONC, three);
    std::array<std::byte, 64> out{};
    EXPECT_EQ(odd.write(out).error(), BuildError::ValueNotAligned);
    MessageBuilder dup;
    dup.add_u32(tag::NONC, 1).add_u32(tag::NONC, 2);
    EXPECT_EQ(dup.write(out).error(), BuildError::DuplicateTag);
    MessageBuilder full;
    for (std::uint32_t i = 0; i < MessageBuilder::kCapacity + 1; ++i) full.add_u32(i, i);
    EXPECT_EQ(full.write(out).error(), BuildError::TooManyTags);
    MessageBuilder big;
    big.add_zeros(tag::ZZZZ, 64);
    EXPECT_EQ(big.write(out).error(), BuildError::BufferTooSmall);
    EXPECT_EQ(big.encoded_size(), 72u);
}

TEST(RoughtimeMessage, RandomRoundTrips) {
    std::mt19937_64 rng(test_seed("roughtime_message_test"));
    for (int iter = 0; iter < 2000; ++iter) {
        const std::size_t n = rng() % (MessageBuilder::kCapacity + 1);
        std::vector<Bytes> values(n);
        MessageBuilder b;
        std::vector<Tag> used;
        for (std::size_t i = 0; i < n; ++i) {
            Tag t;
            do t = static_cast<Tag>(rng()); while (std::find(used.begin(), used.end(), t) != used.end());
            used.push_back(t);
            values[i].resize(4 * (rng() % 6));
            for (auto& x : values[i]) x = static_cast<std::byte>(rng());
            b.add(t, values[i]);
        }
        const Bytes enc = b.to_vector();
        ASSERT_EQ(enc.size(), b.encoded_size());
        auto m = parse_message(enc);
        ASSERT_TRUE(m) << to_string(m.error());
        ASSERT_EQ(m->size(), n);
        for (std::size_t i = 0; i < n; ++i) {
            auto v = m->find(used[i]);
            ASSERT_TRUE(v);
            EXPECT_EQ(to_bytes(*v), values[i]);
        }
        MessageBuilder again;
        for (std::size_t i = 0; i < m->size(); ++i) again.add(m->tag_at(i), m->value_at(i));
        EXPECT_EQ(again.to_vector(), enc);

        // Any single flipped octet either still parses and round-trips, or is rejected.
        if (enc.empty()) continue;
        Bytes bad = enc;
        bad[rng() % bad.size()] ^= static_cast<std::byte>(1 + rng() % 255);
        if (auto mb = parse_message(bad)) {
            MessageBuilder rb;
            for (std::size_t i = 0; i < mb->size(); ++i) rb.add(mb->tag_at(i), mb->value_at(i));
            if (mb->size() <= MessageBuilder::kCapacity) {
                EXPECT_EQ(rb.to_vector(), bad);
            }
        }
    }
}

// --- versions --------------------------------------------------------------------------------

// The version table checked against packets other implementations wrote (Cloudflare's Google,
// draft 08 and draft 11 exchanges, roughenough's RFC one), not restated from it: framing, VER,
// nonce size, padding tag, what the 1024 octets count, TYPE, and the unit of MIDP/RADI.
TEST(RoughtimeVersion, TableMatchesOtherImplementationsPackets) {
    struct Packet {
        Version version;
        Bytes request;
        Bytes response;  // empty: not checked
        std::int64_t midpoint_ns;  // the response's MIDP, known from the vector's README
    };
    std::vector<Packet> packets;
    for (auto [file, v] : {std::pair{"roughtime_google_001.json", Version::Google},
                           std::pair{"roughtime_ietf_draft08_001.json", Version::Draft08},
                           std::pair{"roughtime_ietf_draft11_001.json", Version::Draft11}}) {
        const auto j = timepipe::test::read_vector_json(std::string("cloudflare/") + file);
        ASSERT_TRUE(j.is_object()) << file;
        packets.push_back({v, hex(j["request"][0].get<std::string>()), hex(j["replies"][0].get<std::string>()),
                           50 * kNanosPerSecond});
    }
    // roughenough's "rfc" packets carry VER 0x8000000c: draft 12.
    packets.push_back({Version::Draft12, read_vector("roughenough/rfc-request.SRV.417aa962"), {}, 0});
    for (const auto& p : packets) {
        const auto& t = traits(p.version);
        SCOPED_TRACE(std::string(to_string(p.version)));
        EXPECT_EQ(is_framed(p.request), t.framed);
        auto body = t.framed ? unframe(p.request) : Expected<std::span<const std::byte>, ParseError>(p.request);
        ASSERT_TRUE(body);
        auto m = parse_message(*body);
        ASSERT_TRUE(m);
        EXPECT_EQ(m->find(tag::NONC)->size(), t.nonce_size);
        EXPECT_TRUE(m->contains(t.padding_tag));
        EXPECT_EQ(m->contains(tag::VER), t.sends_ver);
        EXPECT_EQ(m->contains(tag::TYPE), t.sends_type);
        if (m->contains(tag::SRV)) {
            EXPECT_TRUE(t.has_srv);
        }
        EXPECT_EQ(t.request_size_counts_frame ? p.request.size() : body->size(), 1024u);
        if (auto ver = m->find(tag::VER)) {  // the version we call it is among those offered
            bool offered = false;
            for (std::size_t k = 0; k + 4 <= ver->size(); k += 4)
                offered = offered || version_from_wire(load_le32(ver->subspan(k))) == p.version;
            EXPECT_TRUE(offered);
        }
        if (p.response.empty()) continue;
        auto rb = t.framed ? unframe(p.response) : Expected<std::span<const std::byte>, ParseError>(p.response);
        ASSERT_TRUE(rb);
        auto r = parse_message(*rb);
        ASSERT_TRUE(r);
        auto srep = r->message(tag::SREP);
        ASSERT_TRUE(srep);
        EXPECT_EQ(timestamp_to_nanos(*srep->u64(tag::MIDP), t.time_unit), p.midpoint_ns);
        EXPECT_EQ(srep->find(tag::ROOT)->size(), t.hash_size);
    }
    EXPECT_EQ(version_from_wire(0x8000000c), Version::Draft12);
    EXPECT_FALSE(version_from_wire(0));  // reserved, and not how Google-Roughtime is spelt
    EXPECT_FALSE(version_from_wire(0x80000003));
}

TEST(RoughtimeVersion, TimeUnits) {
    EXPECT_EQ(timestamp_to_nanos(50, TimeUnit::Seconds), 50 * kNanosPerSecond);
    EXPECT_EQ(timestamp_to_nanos(50'000'000, TimeUnit::Microseconds), 50 * kNanosPerSecond);
    EXPECT_EQ(timestamp_to_nanos(~std::uint64_t{0}, TimeUnit::Seconds), INT64_MAX);
    EXPECT_EQ(nanos_to_timestamp(50 * kNanosPerSecond + 999, TimeUnit::Seconds), 50u);
    EXPECT_EQ(nanos_to_timestamp(-1, TimeUnit::Seconds), 0u);
    EXPECT_EQ(radius_to_nanos(5, TimeUnit::Seconds), 5 * kNanosPerSecond);
    EXPECT_EQ(nanos_to_radius(1, TimeUnit::Seconds), 1u);  // rounded up, never optimistic
    EXPECT_EQ(nanos_to_radius(5 * kNanosPerSecond, TimeUnit::Microseconds), 5'000'000u);
}

TEST(RoughtimeVersion, NegotiationPicksTheNewestShared) {
    const Version all[] = {Version::Google, Version::Draft08, Version::Draft11, Version::Draft12, Version::Rfc};
    const Version old_server[] = {Version::Draft08, Version::Draft11};
    EXPECT_EQ(*negotiate(hex("01000000 08000080 0b000080 0c000080"), all), Version::Rfc);
    EXPECT_EQ(*negotiate(hex("01000000 08000080 0b000080 0c000080"), old_server), Version::Draft11);
    EXPECT_EQ(*negotiate(hex("0c000080 08000080"), all), Version::Draft12);  // order does not matter
    EXPECT_EQ(*negotiate(hex("03000080 08000080"), all), Version::Draft08);  // unknown skipped
    EXPECT_EQ(negotiate(hex("03000080"), all).error(), NegotiateError::NoCommonVersion);
    EXPECT_EQ(negotiate(hex("00000000"), all).error(), NegotiateError::NoCommonVersion);
    EXPECT_EQ(negotiate(hex(""), all).error(), NegotiateError::Malformed);
    EXPECT_EQ(negotiate(hex("010000"), all).error(), NegotiateError::Malformed);
    EXPECT_EQ(negotiate(Bytes(4 * (kMaxVersionList + 1)), all).error(), NegotiateError::Malformed);

    std::array<std::byte, 32> out{};
    const Version mixed[] = {Version::Draft12, Version::Google, Version::Rfc, Version::Draft08, Version::Rfc};
    const auto n = write_version_list(mixed, out);
    EXPECT_EQ(to_bytes(std::span<const std::byte>(out).first(n)), hex("01000000 08000080 0c000080"));
    std::array<std::byte, 4> tiny{};
    EXPECT_EQ(write_version_list(mixed, tiny), 0u);
}

}  // namespace
}  // namespace timepipe::roughtime
