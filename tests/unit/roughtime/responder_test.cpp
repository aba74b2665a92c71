// Roughtime responder: Cloudflare's replies reproduced byte for byte from their seeds; client <->
// responder round trips in every version (batches of 1 and 64, mixed batches, negotiation);
// every drop reason; a downgrade and an out-of-window midpoint caught by the client; responses
// never larger than requests (TIMEPIPE_SEED=N replays the random parts).
#include "libtime/roughtime/responder.hpp"

#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/message.hpp"
#include "tests/unit/test_support.hpp"

namespace timepipe::roughtime {
namespace {

using Bytes = std::vector<std::byte>;
using timepipe::test::to_bytes;
using timepipe::test::hex;
using timepipe::test::read_vector_json;
using timepipe::test::test_seed;

crypto::Ed25519KeyPair key_pair_from_seed(const std::string& seed_hex) {
    const Bytes seed = hex(seed_hex);
    EXPECT_EQ(seed.size(), 32u);
    Bytes s32(32);
    std::copy_n(seed.begin(), std::min<std::size_t>(32, seed.size()), s32.begin());
    return crypto::ed25519_from_seed(std::span<const std::byte, 32>(s32.data(), 32));
}

using timepipe::test::kSec;

TEST(RoughtimeResponder, ReproducesCloudflareRepliesByteForByte) {
    const struct {
        const char* file;
        Version version;
    } files[] = {
        {"roughtime_google_001.json", Version::Google},       {"roughtime_google_010.json", Version::Google},
        {"roughtime_google_100.json", Version::Google},       {"roughtime_ietf_draft08_001.json", Version::Draft08},
        {"roughtime_ietf_draft08_010.json", Version::Draft08}, {"roughtime_ietf_draft08_100.json", Version::Draft08},
        {"roughtime_ietf_draft11_001.json", Version::Draft11}, {"roughtime_ietf_draft11_010.json", Version::Draft11},
        {"roughtime_ietf_draft11_100.json", Version::Draft11},
    };
    for (const auto& f : files) {
        SCOPED_TRACE(f.file);
        const auto j = read_vector_json(std::string("cloudflare/") + f.file);
        ASSERT_TRUE(j.is_object());
        const auto root = key_pair_from_seed(j["root_key"].get<std::string>());
        auto online = key_pair_from_seed(j["online_key"].get<std::string>());
        auto dele = make_delegation(root, online.public_key, 0, 100 * kSec);
        const Version only[] = {f.version};
        Responder r(std::move(dele), std::move(online), only);
        std::vector<Bytes> reqs;
        for (const auto& q : j["request"]) reqs.push_back(hex(q.get<std::string>()));
        std::vector<std::span<const std::byte>> spans(reqs.begin(), reqs.end());
        const auto replies = r.respond(spans, 50 * kSec, 5 * kSec);
        ASSERT_EQ(replies.size(), reqs.size());
        for (std::size_t i = 0; i < reqs.size(); ++i) {
            ASSERT_FALSE(replies[i].dropped) << i << ": " << to_string(*replies[i].dropped);
            EXPECT_EQ(replies[i].version, f.version);
            EXPECT_EQ(to_bytes(replies[i].bytes), hex(j["replies"][i].get<std::string>())) << "reply " << i;
        }
    }
}

TEST(RoughtimeResponder, DelegationCertificatesVerifyUnderEachContext) {
    auto root = crypto::ed25519_generate();
    auto online = crypto::ed25519_generate();
    const auto d = make_delegation(root, online.public_key, 10 * kSec, 20 * kSec);
    EXPECT_EQ(d.srv, srv_value(root.public_key));
    for (const auto& t : all_versions()) {
        SCOPED_TRACE(std::string(t.name));
        auto cert = parse_message(d.cert_for(t.version), 1);
        ASSERT_TRUE(cert);
        auto dele = cert->message(tag::DELE);
        ASSERT_TRUE(dele);
        const auto ctx = std::as_bytes(std::span<const char>(t.delegation_context.data(), t.delegation_context.size()));
        EXPECT_TRUE(crypto::ed25519_verify(root.public_key, ctx, dele->bytes(),
                                           cert->find(tag::SIG)->first<64>()));
        const std::uint64_t unit = t.time_unit == TimeUnit::Seconds ? 1 : 1'000'000;
        EXPECT_EQ(dele->u64(tag::MINT), 10 * unit);
        EXPECT_EQ(dele->u64(tag::MAXT), 20 * unit);
        EXPECT_EQ(to_bytes(*dele->find(tag::PUBK)), to_bytes(online.public_key));
    }
}

// A server of these tests: a root key, and a responder with a key it delegates to for MINT..MAXT.
struct TestServer {
    crypto::Ed25519KeyPair root = crypto::ed25519_generate();
    crypto::PublicKey online_public{};
    std::unique_ptr<Responder> responder;
    explicit TestServer(std::span<const Version> supported = {}, UnixNanos mint = 1'700'000'000 * kSec,
                        UnixNanos maxt = 1'800'000'000 * kSec) {
        auto online = crypto::ed25519_generate();
        online_public = online.public_key;
        responder = std::make_unique<Responder>(make_delegation(root, online.public_key, mint, maxt), std::move(online),
                                                supported);
    }
};

Bytes random_nonce(std::mt19937_64& rng, std::size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<std::byte>(rng());
    return b;
}

void round_trip(TestServer& s, std::span<const Version> offer, std::size_t batch, Version expect,
                std::mt19937_64& rng) {
    const UnixNanos now = 1'750'000'000 * kSec + 123'456'789;
    std::vector<Bytes> reqs;
    for (std::size_t i = 0; i < batch; ++i) {
        const Bytes nonce = random_nonce(rng, nonce_size(offer));
        auto q = make_request({.versions = offer, .nonce = nonce, .server_key = s.root.public_key});
        ASSERT_TRUE(q) << to_string(q.error());
        reqs.push_back(*q);
    }
    std::vector<std::span<const std::byte>> spans(reqs.begin(), reqs.end());
    const auto replies = s.responder->respond(spans, now, 2 * kSec);
    ASSERT_EQ(replies.size(), batch);
    for (std::size_t i = 0; i < batch; ++i) {
        ASSERT_FALSE(replies[i].dropped) << to_string(*replies[i].dropped);
        EXPECT_LE(replies[i].bytes.size(), reqs[i].size());
        auto t = verify_response(reqs[i], replies[i].bytes, s.root.public_key);
        ASSERT_TRUE(t) << "request " << i << ": " << to_string(t.error());
        EXPECT_EQ(t->version, expect);
        const std::int64_t unit = traits(expect).time_unit == TimeUnit::Seconds ? kSec : 1000;
        EXPECT_EQ(t->midpoint, now / unit * unit);
        EXPECT_EQ(t->radius_ns, 2 * kSec);
        EXPECT_EQ(t->online_key, s.online_public);
        // Someone else's key does not verify it.
        EXPECT_FALSE(verify_response(reqs[i], replies[i].bytes, s.online_public));
    }
}

TEST(RoughtimeResponder, RoundTripsInEveryVersion) {
    std::mt19937_64 rng(test_seed("roughtime_responder_test"));
    TestServer s;
    for (const auto& t : all_versions()) {
        SCOPED_TRACE(std::string(t.name));
        const Version offer[] = {t.version};
        round_trip(s, offer, 1, t.version, rng);
        round_trip(s, offer, 64, t.version, rng);
    }
}

TEST(RoughtimeResponder, NegotiatesTheNewestShared) {
    std::mt19937_64 rng(test_seed("roughtime_responder_test"));
    const Version ietf[] = {Version::Draft08, Version::Draft11, Version::Draft12, Version::Rfc};
    TestServer all;
    round_trip(all, ietf, 3, Version::Rfc, rng);
    const Version old_versions[] = {Version::Draft08, Version::Draft11};
    TestServer old(old_versions);
    round_trip(old, ietf, 3, Version::Draft11, rng);
    const Version drafts[] = {Version::Draft12, Version::Draft08};
    round_trip(all, drafts, 2, Version::Draft12, rng);
}

TEST(RoughtimeResponder, MixedBatchGetsOneTreePerVersion) {
    std::mt19937_64 rng(test_seed("roughtime_responder_test"));
    TestServer s;
    std::vector<Bytes> reqs;
    std::vector<Version> want;
    for (int i = 0; i < 40; ++i) {
        const Version v = all_versions()[rng() % all_versions().size()].version;
        const Version offer[] = {v};
        reqs.push_back(*make_request({.versions = offer, .nonce = random_nonce(rng, nonce_size(offer)), .server_key = {}}));
        want.push_back(v);
    }
    std::vector<std::span<const std::byte>> spans(reqs.begin(), reqs.end());
    const auto replies = s.responder->respond(spans, 1'750'000'000 * kSec, kSec);
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        ASSERT_FALSE(replies[i].dropped);
        auto t = verify_response(reqs[i], replies[i].bytes, s.root.public_key);
        ASSERT_TRUE(t) << i << ": " << to_string(t.error());
        EXPECT_EQ(t->version, want[i]);
    }
}

TEST(RoughtimeResponder, LargeBatchesAreCutIntoChunks) {
    std::mt19937_64 rng(test_seed("roughtime_responder_test"));
    TestServer s;
    const Version offer[] = {Version::Google};  // the biggest hashes: the tightest size budget
    std::vector<Bytes> reqs;
    for (std::size_t i = 0; i < Responder::kMaxBatch + 7; ++i)
        reqs.push_back(*make_request({.versions = offer, .nonce = random_nonce(rng, 64), .server_key = {}}));
    std::vector<std::span<const std::byte>> spans(reqs.begin(), reqs.end());
    const auto replies = s.responder->respond(spans, 1'750'000'000 * kSec, kSec);
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        ASSERT_FALSE(replies[i].dropped) << i;
        EXPECT_LE(replies[i].bytes.size(), reqs[i].size());
        ASSERT_TRUE(verify_response(reqs[i], replies[i].bytes, s.root.public_key)) << i;
    }
}

TEST(RoughtimeResponder, DropsWithReasons) {
    TestServer s;
    const Bytes nonce(32, std::byte{1});
    const Version rfc[] = {Version::Rfc};
    const Bytes good = *make_request({.versions = rfc, .nonce = nonce, .server_key = s.root.public_key});

    auto crypto_other = crypto::ed25519_generate();
    const Bytes other_srv = *make_request({.versions = rfc, .nonce = nonce, .server_key = crypto_other.public_key});
    const Bytes short_req(good.begin(), good.begin() + 1000);
    Bytes garbage(1100, std::byte{0x41});
    MessageBuilder unknown;
    const Bytes ver = hex("03000080");
    unknown.add(tag::VER, ver).add(tag::NONC, nonce).add_zeros(tag::ZZZZ, 1000);
    const Bytes unknown_ver = unknown.to_vector(true);
    MessageBuilder type1;
    const Bytes ver1 = hex("01000000");
    type1.add(tag::VER, ver1).add(tag::NONC, nonce).add_u32(tag::TYPE, 1).add_zeros(tag::ZZZZ, 1000);
    const Bytes type_response = type1.to_vector(true);
    MessageBuilder badnonce;
    const Bytes nonce16(16);
    badnonce.add(tag::VER, ver1).add(tag::NONC, nonce16).add_zeros(tag::ZZZZ, 1000);
    const Bytes short_nonce = badnonce.to_vector(true);
    Bytes bad_frame = good;
    bad_frame[8] ^= std::byte{4};  // the frame's length field

    const std::vector<std::pair<Bytes, DropReason>> cases = {
        {short_req, DropReason::TooShort},         {garbage, DropReason::Malformed},
        {unknown_ver, DropReason::UnknownVersion}, {other_srv, DropReason::SrvMismatch},
        {type_response, DropReason::Malformed},    {short_nonce, DropReason::Malformed},
        {bad_frame, DropReason::Malformed},
    };
    std::vector<std::span<const std::byte>> spans;
    for (const auto& c : cases) spans.emplace_back(c.first);
    spans.emplace_back(good);
    const auto replies = s.responder->respond(spans, 1'750'000'000 * kSec, kSec);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        ASSERT_TRUE(replies[i].dropped) << i;
        EXPECT_EQ(*replies[i].dropped, cases[i].second) << i << ": " << to_string(*replies[i].dropped);
        EXPECT_TRUE(replies[i].bytes.empty());
    }
    ASSERT_FALSE(replies.back().dropped);
    EXPECT_TRUE(verify_response(good, replies.back().bytes, s.root.public_key));

    // Google-Roughtime switched off: its requests find no common version.
    const Version ietf_only[] = {Version::Rfc, Version::Draft12};
    TestServer no_google(ietf_only);
    const Version google[] = {Version::Google};
    const Bytes g = *make_request({.versions = google, .nonce = Bytes(64), .server_key = {}});
    std::vector<std::span<const std::byte>> one{g};
    EXPECT_EQ(*no_google.responder->respond(one, 0, kSec)[0].dropped, DropReason::UnknownVersion);
}

TEST(RoughtimeResponder, ClientCatchesMidpointOutsideTheDelegation) {
    std::mt19937_64 rng(test_seed("roughtime_responder_test"));
    TestServer s({}, 100 * kSec, 200 * kSec);
    for (const auto& t : all_versions()) {
        const Version offer[] = {t.version};
        const Bytes q = *make_request({.versions = offer, .nonce = random_nonce(rng, nonce_size(offer)), .server_key = {}});
        std::vector<std::span<const std::byte>> one{q};
        const auto rep = s.responder->respond(one, 300 * kSec, kSec);
        ASSERT_FALSE(rep[0].dropped);
        auto v = verify_response(q, rep[0].bytes, s.root.public_key);
        ASSERT_FALSE(v);
        EXPECT_EQ(v.error(), VerifyError::MidpointOutsideDelegation) << t.name;
    }
}

// A server that signs VERS {1, 0x8000000c} but answers 0x8000000c to a client offering both has
// downgraded it; the signature is valid, the client still refuses.
TEST(RoughtimeResponder, ClientCatchesADowngrade) {
    auto root = crypto::ed25519_generate();
    auto online = crypto::ed25519_generate();
    const auto dele = make_delegation(root, online.public_key, 0, 1'800'000'000 * kSec);
    const Version offer[] = {Version::Draft12, Version::Rfc};
    const Bytes nonce(32, std::byte{3});
    const Bytes req = *make_request({.versions = offer, .nonce = nonce, .server_key = {}});

    const Hash leaf = leaf_hash(req, 32);
    const Bytes vers = hex("01000000 0c000080");
    auto forge = [&](std::uint32_t ver) {
        MessageBuilder srep;
        srep.add(tag::ROOT, leaf.span()).add_u64(tag::MIDP, 1'750'000'000).add_u32(tag::RADI, 1)
            .add_u32(tag::VER, ver).add(tag::VERS, vers);
        const Bytes srep_bytes = srep.to_vector();
        const auto ctx = traits(Version::Draft12).response_context;
        const auto sig = crypto::ed25519_sign(online.secret_key,
                                              std::as_bytes(std::span<const char>(ctx.data(), ctx.size())), srep_bytes);
        MessageBuilder resp;
        resp.add(tag::SIG, sig).add(tag::NONC, nonce).add_u32(tag::TYPE, 1).add(tag::PATH, {})
            .add(tag::SREP, srep_bytes).add(tag::CERT, dele.cert_for(Version::Draft12)).add_u32(tag::INDX, 0);
        return resp.to_vector(true);
    };
    auto honest = verify_response(req, forge(0x00000001), root.public_key);
    ASSERT_TRUE(honest) << to_string(honest.error());
    EXPECT_EQ(honest->version, Version::Rfc);
    auto downgraded = verify_response(req, forge(0x8000000c), root.public_key);
    ASSERT_FALSE(downgraded);
    EXPECT_EQ(downgraded.error(), VerifyError::Version);
}

TEST(RoughtimeResponder, RandomRequestsNeverAmplify) {
    std::mt19937_64 rng(test_seed("roughtime_responder_test"));
    TestServer s;
    std::vector<Bytes> reqs;
    for (int i = 0; i < 300; ++i) {
        const Version v = all_versions()[rng() % all_versions().size()].version;
        const Version offer[] = {v};
        Bytes q = *make_request({.versions = offer, .nonce = random_nonce(rng, nonce_size(offer)), .server_key = {}});
        switch (rng() % 4) {
        case 0: break;  // intact
        case 1: q[rng() % q.size()] ^= static_cast<std::byte>(1 + rng() % 255); break;
        case 2: q.resize(rng() % (q.size() + 1)); break;
        case 3: q.resize(q.size() + 4 * (rng() % 64)); break;
        }
        reqs.push_back(q);
    }
    std::vector<std::span<const std::byte>> spans(reqs.begin(), reqs.end());
    const auto replies = s.responder->respond(spans, 1'750'000'000 * kSec, kSec);
    for (std::size_t i = 0; i < reqs.size(); ++i) {
        EXPECT_LE(replies[i].bytes.size(), reqs[i].size());
        if (reqs[i].size() < kMinRequestSize) {
            EXPECT_TRUE(replies[i].dropped);
        }
    }
    EXPECT_FALSE(to_string(DropReason::SrvMismatch).empty());
}

}  // namespace
}  // namespace timepipe::roughtime
