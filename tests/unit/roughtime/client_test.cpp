// Roughtime client: every vector in shared/vectors/roughtime verifies (Cloudflare's Google,
// draft 08 and draft 11 batches of 1/10/100, roughenough's RFC-draft exchange, draft 19's
// appendix B), our requests reproduce the vectors' requests byte for byte, and tampered copies
// fail for the right reason.
// Vectors: $TIMEPIPE_VECTORS, else ../shared/vectors from the current directory; missing vectors
// fail the test.
#include "libtime/roughtime/client.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <set>
#include <nlohmann/json.hpp>

#include "libtime/base/crypto.hpp"
#include "libtime/roughtime/message.hpp"
#include "libtime/roughtime/server_list.hpp"
#include "tests/unit/test_support.hpp"

namespace timepipe::roughtime {
namespace {

using Bytes = std::vector<std::byte>;
using timepipe::test::to_bytes;
using timepipe::test::hex;
using timepipe::test::read_vector;
using timepipe::test::read_vector_json;

// The vectors' base64 (with padding), decoded by the library's decoder.
Bytes base64(std::string_view text) {
    auto b = base64_decode(text);
    EXPECT_TRUE(b) << "not base64: " << text;
    return b.value_or(Bytes{});
}

crypto::PublicKey key(const Bytes& b) {
    crypto::PublicKey k{};
    EXPECT_EQ(b.size(), k.size());
    std::copy_n(b.begin(), std::min(b.size(), k.size()), k.begin());
    return k;
}

crypto::PublicKey key_from_seed(const std::string& seed_hex) {
    const Bytes seed = hex(seed_hex);
    EXPECT_EQ(seed.size(), 32u);
    if (seed.size() != 32) return {};
    return crypto::ed25519_from_seed(std::span<const std::byte, 32>(seed.data(), 32)).public_key;
}

// The value of `t` inside the (framed or not) packet, as an offset into it.
std::size_t offset_of(std::span<const std::byte> packet, std::initializer_list<Tag> tags) {
    std::span<const std::byte> body = is_framed(packet) ? *unframe(packet) : packet;
    auto m = parse_message(body);
    std::span<const std::byte> v;
    for (Tag t : tags) {
        v = *m->find(t);
        m = parse_message(v, 0);
    }
    return static_cast<std::size_t>(v.data() - packet.data());
}

struct Exchange {
    std::string name;
    Bytes request;
    Bytes response;
    crypto::PublicKey key;
};

struct CloudflareFile {
    const char* file;
    Version version;
    std::size_t count;
};
const CloudflareFile kCloudflare[] = {
    {"roughtime_google_001.json", Version::Google, 1},     {"roughtime_google_010.json", Version::Google, 10},
    {"roughtime_google_100.json", Version::Google, 100},   {"roughtime_ietf_draft08_001.json", Version::Draft08, 1},
    {"roughtime_ietf_draft08_010.json", Version::Draft08, 10}, {"roughtime_ietf_draft08_100.json", Version::Draft08, 100},
    {"roughtime_ietf_draft11_001.json", Version::Draft11, 1},  {"roughtime_ietf_draft11_010.json", Version::Draft11, 10},
    {"roughtime_ietf_draft11_100.json", Version::Draft11, 100},
};

TEST(RoughtimeClient, EveryCloudflareReplyVerifies) {
    const auto readme_key = key(base64("HOkMydVHaAn5CI9SAY2ajluESZUeJGjhPeANAjTVDRQ="));
    for (const auto& f : kCloudflare) {
        SCOPED_TRACE(f.file);
        const auto j = read_vector_json(std::string("cloudflare/") + f.file);
        ASSERT_TRUE(j.is_object());
        const auto pk = key_from_seed(j["root_key"].get<std::string>());
        EXPECT_EQ(pk, readme_key);
        const auto online = key_from_seed(j["online_key"].get<std::string>());
        ASSERT_EQ(j["request"].size(), f.count);
        ASSERT_EQ(j["replies"].size(), f.count);
        for (std::size_t i = 0; i < f.count; ++i) {
            const Bytes req = hex(j["request"][i].get<std::string>());
            const Bytes rep = hex(j["replies"][i].get<std::string>());
            auto t = verify_response(req, rep, pk);
            ASSERT_TRUE(t) << "reply " << i << ": " << to_string(t.error());
            EXPECT_EQ(t->version, f.version);
            // MINT 0, MIDP 50 s, MAXT 100 s, RADI 5 s (microseconds on the wire for Google).
            EXPECT_EQ(t->midpoint, 50 * kNanosPerSecond);
            EXPECT_EQ(t->radius_ns, 5 * kNanosPerSecond);
            EXPECT_EQ(t->mint, 0);
            EXPECT_EQ(t->maxt, 100 * kNanosPerSecond);
            EXPECT_EQ(t->online_key, online);
            EXPECT_EQ(t->response, rep);
        }
    }
}

TEST(RoughtimeClient, RebuildsCloudflareRequestsByteForByte) {
    for (const auto& f : kCloudflare) {
        SCOPED_TRACE(f.file);
        const auto j = read_vector_json(std::string("cloudflare/") + f.file);
        ASSERT_TRUE(j.is_object());
        const auto pk = key_from_seed(j["root_key"].get<std::string>());
        const Bytes req = hex(j["request"][0].get<std::string>());
        const auto nonce_at = offset_of(req, {tag::NONC});
        const std::size_t nsize = f.version == Version::Google ? 64 : 32;
        const Version offer[] = {f.version};
        auto built = make_request({.versions = offer,
                                   .nonce = std::span<const std::byte>(req).subspan(nonce_at, nsize),
                                   .server_key = pk});
        ASSERT_TRUE(built) << to_string(built.error());
        EXPECT_EQ(*built, req);
    }
}

std::vector<Exchange> ietf_exchanges() {
    std::vector<Exchange> out;
    out.push_back({"roughenough rfc 071039e5", read_vector("roughenough/rfc-request.071039e5"),
                   read_vector("roughenough/rfc-response.071039e5"),
                   key(base64("AW5uAoTSTDfG5NfY1bTh08GUnOqlRb+HVhbJ3ODJvsE="))});
    const auto j = read_vector_json("rfc-draft19/appendix-b-example-malfeasance-report.json");
    if (!j.is_object()) {
        ADD_FAILURE() << "appendix B does not parse";
        return out;
    }
    for (std::size_t i = 0; i < j["responses"].size(); ++i) {
        const auto& r = j["responses"][i];
        out.push_back({"appendix B " + std::to_string(i), base64(r["request"].get<std::string>()),
                       base64(r["response"].get<std::string>()), key(base64(r["publicKey"].get<std::string>()))});
    }
    return out;
}

TEST(RoughtimeClient, RoughenoughRfcExchangeVerifiesCompletely) {
    const auto ex = ietf_exchanges().at(0);
    auto t = verify_response(ex.request, ex.response, ex.key);
    ASSERT_TRUE(t) << to_string(t.error());
    EXPECT_EQ(t->version, Version::Draft12);
    EXPECT_EQ(t->midpoint, 1'747'944'450 * kNanosPerSecond);
    EXPECT_EQ(t->radius_ns, 5 * kNanosPerSecond);
    EXPECT_EQ(t->mint, 0);
    EXPECT_EQ(t->maxt, INT64_MAX);  // 0xffffffffffffffff saturates

    // Our request for the same nonce is the same packet.
    const Version offer[] = {Version::Draft12};
    auto built = make_request({.versions = offer,
                               .nonce = std::span<const std::byte>(ex.request).subspan(offset_of(ex.request, {tag::NONC}), 32),
                               .server_key = std::nullopt});
    ASSERT_TRUE(built);
    EXPECT_EQ(*built, ex.request);
}

TEST(RoughtimeClient, Draft19AppendixBVerifies) {
    const auto all = ietf_exchanges();
    ASSERT_EQ(all.size(), 4u);
    const std::int64_t midp[] = {0x69b84b43, 0x69b6f9c3, 0x69b6f9c3};
    for (std::size_t i = 1; i < all.size(); ++i) {
        SCOPED_TRACE(all[i].name);
        EXPECT_EQ(all[i].request.size(), 1036u);
        auto t = verify_response(all[i].request, all[i].response, all[i].key);
        ASSERT_TRUE(t) << to_string(t.error());
        EXPECT_EQ(t->version, Version::Rfc);
        EXPECT_EQ(t->midpoint, midp[i - 1] * kNanosPerSecond);
        EXPECT_EQ(t->radius_ns, 3 * kNanosPerSecond);
        // Rebuilt with SRV from the key: byte-exact, 1024-octet message plus the frame.
        const Version offer[] = {Version::Rfc};
        auto built = make_request(
            {.versions = offer,
             .nonce = std::span<const std::byte>(all[i].request).subspan(offset_of(all[i].request, {tag::NONC}), 32),
             .server_key = all[i].key});
        ASSERT_TRUE(built);
        EXPECT_EQ(*built, all[i].request);
    }
}

TEST(RoughtimeClient, WrongKeyFailsTheDelegation) {
    const auto ex = ietf_exchanges().at(0);
    auto other = ex.key;
    other[0] ^= std::byte{1};
    auto t = verify_response(ex.request, ex.response, other);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), VerifyError::DeleSignature);
}

// --- tampering: one flipped bit, the right reason ------------------------------------------

void expect_flip(const Exchange& ex, std::size_t at, VerifyError want, const char* what) {
    SCOPED_TRACE(ex.name + ": " + what);
    Bytes bad = ex.response;
    ASSERT_LT(at, bad.size());
    bad[at] ^= std::byte{0x01};
    auto t = verify_response(ex.request, bad, ex.key);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), want) << "got " << to_string(t.error()) << ", want " << to_string(want);
}

std::vector<Exchange> tamper_set() {
    auto out = ietf_exchanges();
    for (const char* f : {"roughtime_google_010.json", "roughtime_ietf_draft08_001.json", "roughtime_ietf_draft11_100.json",
                          "roughtime_google_001.json"}) {
        const auto j = read_vector_json(std::string("cloudflare/") + f);
        if (!j.is_object()) continue;
        const auto pk = key_from_seed(j["root_key"].get<std::string>());
        for (std::size_t i : {std::size_t{0}, std::size_t{j["request"].size() - 1}})
            out.push_back({std::string(f) + " #" + std::to_string(i), hex(j["request"][i].get<std::string>()),
                           hex(j["replies"][i].get<std::string>()), pk});
    }
    return out;
}

TEST(RoughtimeClient, EveryFlippedBitFailsForTheRightReason) {
    for (const auto& ex : tamper_set()) {
        ASSERT_TRUE(verify_response(ex.request, ex.response, ex.key)) << ex.name;
        const std::span<const std::byte> r = ex.response;
        expect_flip(ex, offset_of(r, {tag::SIG}), VerifyError::SrepSignature, "SIG");
        expect_flip(ex, offset_of(r, {tag::SIG}) + 63, VerifyError::SrepSignature, "SIG last octet");
        expect_flip(ex, offset_of(r, {tag::CERT, tag::SIG}), VerifyError::DeleSignature, "CERT SIG");
        expect_flip(ex, offset_of(r, {tag::CERT, tag::DELE, tag::PUBK}), VerifyError::DeleSignature, "CERT DELE PUBK");
        expect_flip(ex, offset_of(r, {tag::CERT, tag::DELE, tag::MAXT}), VerifyError::DeleSignature, "CERT DELE MAXT");
        expect_flip(ex, offset_of(r, {tag::NONC}), VerifyError::Nonce, "NONC");
        expect_flip(ex, offset_of(r, {tag::SREP, tag::MIDP}), VerifyError::SrepSignature, "MIDP (signed)");
        expect_flip(ex, offset_of(r, {tag::SREP, tag::ROOT}), VerifyError::SrepSignature, "ROOT (signed)");

        auto m = parse_message(is_framed(r) ? *unframe(r) : r);
        const std::size_t path_len = m->find(tag::PATH)->size();
        const std::size_t indx_at = offset_of(r, {tag::INDX});
        if (path_len > 0) {
            expect_flip(ex, offset_of(r, {tag::PATH}), VerifyError::MerklePath, "PATH");
            expect_flip(ex, offset_of(r, {tag::PATH}) + path_len - 1, VerifyError::MerklePath, "PATH last octet");
            expect_flip(ex, indx_at, VerifyError::MerklePath, "INDX bit 0 (inside the path)");
        } else {
            expect_flip(ex, indx_at, VerifyError::Index, "INDX bit 0 with an empty PATH");
        }
        // Bit 24 of INDX lies beyond every PATH here: leftover bits must be zero.
        Bytes bad = ex.response;
        bad[indx_at + 3] ^= std::byte{0x01};
        auto t = verify_response(ex.request, bad, ex.key);
        ASSERT_FALSE(t);
        EXPECT_EQ(t.error(), VerifyError::Index) << ex.name;
    }
}

TEST(RoughtimeClient, TypeAndVersionTampering) {
    const auto ex = ietf_exchanges().at(1);  // RFC version: TYPE mandatory
    const std::span<const std::byte> r = ex.response;
    expect_flip(ex, offset_of(r, {tag::TYPE}), VerifyError::Type, "TYPE");
    expect_flip(ex, offset_of(r, {tag::SREP, tag::VER}), VerifyError::Version, "VER in SREP");
    // VERS is signed: flip its bit and the SREP signature no longer holds... unless the version
    // check sees it first. Both are refusals; the version check runs first.
    expect_flip(ex, offset_of(r, {tag::SREP, tag::VERS}), VerifyError::Version, "VERS");

    // Draft 08 put VER outside the signature: changing it to a version not offered is caught.
    const auto j = read_vector_json("cloudflare/roughtime_ietf_draft08_001.json");
    ASSERT_TRUE(j.is_object());
    Exchange d08{"draft08", hex(j["request"][0].get<std::string>()), hex(j["replies"][0].get<std::string>()),
                 key_from_seed(j["root_key"].get<std::string>())};
    const auto ver_at = offset_of(d08.response, {tag::VER});
    Bytes bad = d08.response;
    bad[ver_at] = std::byte{0x0b};  // 0x8000000b, not offered
    auto t = verify_response(d08.request, bad, d08.key);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), VerifyError::Version);
}

TEST(RoughtimeClient, ResponseToAnotherRequestFails) {
    const auto j = read_vector_json("cloudflare/roughtime_ietf_draft11_010.json");
    ASSERT_TRUE(j.is_object());
    const auto pk = key_from_seed(j["root_key"].get<std::string>());
    auto t = verify_response(hex(j["request"][0].get<std::string>()), hex(j["replies"][1].get<std::string>()), pk);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), VerifyError::Nonce);
}

TEST(RoughtimeClient, TruncatedAndGarbageResponsesAreMalformed) {
    const auto ex = ietf_exchanges().at(0);
    for (std::size_t n : {std::size_t{0}, std::size_t{11}, std::size_t{12}, ex.response.size() - 4}) {
        auto t = verify_response(ex.request, std::span<const std::byte>(ex.response).first(n), ex.key);
        ASSERT_FALSE(t);
        EXPECT_EQ(t.error(), VerifyError::Malformed) << n;
    }
    auto t = verify_response(Bytes(10), ex.response, ex.key);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), VerifyError::BadRequest);
}

TEST(RoughtimeClient, RequestShapes) {
    const Bytes nonce32(32, std::byte{7});
    const Bytes nonce64(64, std::byte{7});
    const crypto::PublicKey pk{};
    {
        const Version offer[] = {Version::Google, Version::Rfc};
        auto r = make_request({.versions = offer, .nonce = nonce32, .server_key = std::nullopt});
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), RequestError::GoogleWithIetf);
    }
    {
        auto r = make_request({.versions = {}, .nonce = nonce32, .server_key = std::nullopt});
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), RequestError::NoVersions);
    }
    {
        const Version offer[] = {Version::Google};
        auto r = make_request({.versions = offer, .nonce = nonce32, .server_key = std::nullopt});
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), RequestError::BadNonceLength);
        auto g = make_request({.versions = offer, .nonce = nonce64, .server_key = pk});
        ASSERT_TRUE(g);
        EXPECT_EQ(g->size(), 1024u);
        EXPECT_FALSE(is_framed(*g));
        auto m = parse_message(*g);
        ASSERT_TRUE(m);
        EXPECT_FALSE(m->contains(tag::VER));
        EXPECT_FALSE(m->contains(tag::SRV));
        EXPECT_TRUE(m->contains(tag::PAD));
    }
    {
        // Everything IETF at once: ascending VER list, SRV, TYPE 0, and a 1024-octet message since
        // the RFC version is offered.
        const Version offer[] = {Version::Rfc, Version::Draft08, Version::Draft12, Version::Draft11, Version::Rfc};
        auto r = make_request({.versions = offer, .nonce = nonce32, .server_key = pk});
        ASSERT_TRUE(r) << to_string(r.error());
        EXPECT_EQ(r->size(), 1036u);
        auto m = parse_message(*unframe(*r));
        ASSERT_TRUE(m);
        EXPECT_EQ(to_bytes(*m->find(tag::VER)), hex("01000000 08000080 0b000080 0c000080"));
        EXPECT_EQ(m->u32(tag::TYPE), 0u);
        const auto srv = srv_value(pk);
        EXPECT_EQ(to_bytes(*m->find(tag::SRV)), Bytes(srv.begin(), srv.end()));
        EXPECT_TRUE(m->contains(tag::ZZZZ));
    }
    {
        // Draft 08 alone: no SRV, no TYPE, 1024 octets including the frame.
        const Version offer[] = {Version::Draft08};
        auto r = make_request({.versions = offer, .nonce = nonce32, .server_key = pk});
        ASSERT_TRUE(r);
        EXPECT_EQ(r->size(), 1024u);
        auto m = parse_message(*unframe(*r));
        EXPECT_FALSE(m->contains(tag::SRV));
        EXPECT_FALSE(m->contains(tag::TYPE));
    }
    std::array<std::byte, 100> small{};
    const Version offer[] = {Version::Rfc};
    auto r = build_request({.versions = offer, .nonce = nonce32, .server_key = std::nullopt}, small);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), RequestError::BufferTooSmall);
}

// The name a failure is reported by says what failed: taken from real tampered responses (not
// from the table it is written in), and no two failures share a name.
TEST(RoughtimeClient, ErrorNamesSayWhatFailed) {
    const auto ex = ietf_exchanges().at(0);
    const std::span<const std::byte> r = ex.response;
    struct Case {
        std::size_t at;
        const char* named;
    };
    const Case cases[] = {
        {offset_of(r, {tag::SIG}), "SREP"},
        {offset_of(r, {tag::CERT, tag::SIG}), "DELE"},
        {offset_of(r, {tag::NONC}), "nonce"},
        {offset_of(r, {tag::INDX}) + 3, "INDX"},
    };
    for (const auto& c : cases) {
        Bytes bad = ex.response;
        bad[c.at] ^= std::byte{0x01};
        auto t = verify_response(ex.request, bad, ex.key);
        ASSERT_FALSE(t) << c.named;
        EXPECT_NE(std::string(to_string(t.error())).find(c.named), std::string::npos)
            << "flipped in " << c.named << ", reported as " << to_string(t.error());
    }
    auto t = verify_response(ex.request, std::span(ex.response).first(40), ex.key);
    ASSERT_FALSE(t);
    EXPECT_NE(std::string(to_string(t.error())).find("malformed"), std::string::npos);
    std::set<std::string_view> names;
    for (int e = static_cast<int>(VerifyError::BadRequest); e <= static_cast<int>(VerifyError::MerklePath); ++e)
        names.insert(to_string(static_cast<VerifyError>(e)));
    EXPECT_EQ(names.size(), static_cast<std::size_t>(VerifyError::MerklePath) + 1);
}

}  // namespace
}  // namespace timepipe::roughtime
