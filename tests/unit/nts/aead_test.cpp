// libtime/nts/aead: AES-SIV-CMAC (RFC 5297) against its published vectors — RFC 5297 A.1 and
// A.2, Wycheproof's empty messages — and against OpenSSL's own AES-SIV on random inputs of every
// length to 200 octets; tampering with any input refused. Every test runs twice: on AES-NI
// (where the CPU has it) and on OpenSSL's AES.
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <array>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "libtime/nts/aead.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::nts;
using timepipe::test::hex;

namespace {

using Bytes = std::vector<std::byte>;
using Span = std::span<const std::byte>;

Bytes seal(Siv& siv, AeadAlgorithm a, const Bytes& key, std::vector<Span> headers, const Bytes& plain) {
    Bytes out(kSivTagSize + plain.size());
    auto n = siv.seal(a, key, headers, plain, out);
    EXPECT_TRUE(n) << n.error().what;
    return out;
}

class AeadOn : public ::testing::TestWithParam<AesBackend> {};

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, AeadOn, ::testing::Values(AesBackend::best, AesBackend::openssl),
                         [](const auto& backend) { return backend.param == AesBackend::best ? "best" : "openssl"; });

TEST(Aead, AlgorithmsByIanaNumber) {
    EXPECT_EQ(aead_from_id(15), AeadAlgorithm::aes_siv_cmac_256);
    EXPECT_EQ(aead_from_id(17), AeadAlgorithm::aes_siv_cmac_512);
    EXPECT_FALSE(aead_from_id(16));
    EXPECT_FALSE(aead_from_id(30));  // AES-128-GCM-SIV: not offered
    EXPECT_EQ(aead_key_size(AeadAlgorithm::aes_siv_cmac_256), 32u);
    EXPECT_EQ(aead_key_size(AeadAlgorithm::aes_siv_cmac_512), 64u);
    EXPECT_EQ(aead_name(AeadAlgorithm::aes_siv_cmac_256), "AEAD_AES_SIV_CMAC_256");
}

TEST_P(AeadOn, Rfc5297DeterministicExampleA1) {
    Siv siv(GetParam());
    auto key = hex("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0 f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    auto ad = hex("101112131415161718191a1b1c1d1e1f2021222324252627");
    auto plain = hex("112233445566778899aabbccddee");
    auto sealed = seal(siv, AeadAlgorithm::aes_siv_cmac_256, key, {ad}, plain);
    EXPECT_EQ(sealed, hex("85632d07c6e8f37f950acd320a2ecc93 40c02b9690c4dc04daef7f6afe5c"));
    Bytes back(plain.size());
    std::vector<Span> h{Span(ad)};
    auto n = siv.open(AeadAlgorithm::aes_siv_cmac_256, key, h, sealed, back);
    ASSERT_TRUE(n) << n.error().what;
    EXPECT_EQ(*n, plain.size());
    EXPECT_EQ(back, plain);
}

// Two associated-data strings and a nonce: the nonce is the last header, as NTS uses it.
TEST_P(AeadOn, Rfc5297NonceBasedExampleA2) {
    Siv siv(GetParam());
    auto key = hex("7f7e7d7c7b7a79787776757473727170 404142434445464748494a4b4c4d4e4f");
    auto ad1 = hex("00112233445566778899aabbccddeeff deaddadadeaddadaffeeddccbbaa9988 7766554433221100");
    auto ad2 = hex("102030405060708090a0");
    auto nonce = hex("09f911029d74e35bd84156c5635688c0");
    auto plain = hex("7468697320697320736f6d6520706c61 696e7465787420746f20656e63727970 74207573696e67205349562d414553");
    EXPECT_EQ(seal(siv, AeadAlgorithm::aes_siv_cmac_256, key, {ad1, ad2, nonce}, plain),
              hex("7bdb6e3b432667eb06f4d14bff2fbd0f cb900f2fddbe404326601965c889bf17 dba77ceb094fa663b7a3f748ba8af829"
                  "ea64ad544a272e9c485b62a3fd5c0d"));
}

// Wycheproof aes_siv_cmac_test.json tcId 2 and 3: empty messages, which OpenSSL 3.0's SIV
// refuses; the output is the SIV alone.
TEST_P(AeadOn, EmptyPlaintextGivesTheSivAloneWycheproof) {
    Siv siv(GetParam());
    auto k2 = hex("2b27e429fb6c02678e589ccc4437c5adfb44b331ab6d21ea321727e6ec03d354");
    Bytes empty;
    EXPECT_EQ(seal(siv, AeadAlgorithm::aes_siv_cmac_256, k2, {empty}, empty), hex("b2b2354e3724dcdaa85ecf029b49a90c"));
    auto k3 = hex("e40992eb4f649e5d49134652aecc24bafa6b45ce8dd9e9d371ede7d5de84fa72");
    auto ad3 = hex("8268c5194a71aed0fc1dafe3");
    auto sealed = seal(siv, AeadAlgorithm::aes_siv_cmac_256, k3, {ad3}, empty);
    EXPECT_EQ(sealed, hex("92bc07ee200fbd488b7f70a10da26a21"));
    std::vector<Span> h{Span(ad3)};
    Bytes none;
    auto n = siv.open(AeadAlgorithm::aes_siv_cmac_256, k3, h, sealed, none);
    ASSERT_TRUE(n) << n.error().what;
    EXPECT_EQ(*n, 0u);
    sealed[15] ^= std::byte{1};
    n = siv.open(AeadAlgorithm::aes_siv_cmac_256, k3, h, sealed, none);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().what, "authentication failed");
}

// OpenSSL's AES-SIV (its "AES-128-SIV"/"AES-256-SIV" ciphers) on one message: each header in an
// update without output, then the plaintext; the tag after final. Non-empty plaintexts only
// (OpenSSL before 3.5 refuses an empty one).
Bytes openssl_siv_seal(AeadAlgorithm a, const Bytes& key, const std::vector<Bytes>& headers, const Bytes& plain) {
    EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, a == AeadAlgorithm::aes_siv_cmac_256 ? "AES-128-SIV" : "AES-256-SIV", nullptr);
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    Bytes out(kSivTagSize + plain.size());
    auto* o = reinterpret_cast<unsigned char*>(out.data());
    int len = 0;
    unsigned char none[16];
    bool ok = cipher && c && EVP_EncryptInit_ex2(c, cipher, reinterpret_cast<const unsigned char*>(key.data()), nullptr, nullptr) == 1;
    for (const auto& h : headers)
        ok = ok && EVP_EncryptUpdate(c, nullptr, &len, reinterpret_cast<const unsigned char*>(h.data()), static_cast<int>(h.size())) == 1;
    ok = ok && EVP_EncryptUpdate(c, o + kSivTagSize, &len, reinterpret_cast<const unsigned char*>(plain.data()), static_cast<int>(plain.size())) == 1 &&
         EVP_EncryptFinal_ex(c, none, &len) == 1 && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, o) == 1;
    EVP_CIPHER_CTX_free(c);
    EVP_CIPHER_free(cipher);
    EXPECT_TRUE(ok);
    return out;
}

// Ours against OpenSSL's: every plaintext length 1..200, headers of varied lengths (1, 15,
// 16, 17, 32, 100 octets: the CMAC's complete and padded last blocks), both key sizes, random
// bytes. (No empty header: OpenSSL's SIV fails on a zero-length header update.)
TEST_P(AeadOn, AgreesWithOpensslSivOnRandomInputs) {
    Siv siv(GetParam());
    std::mt19937 rng(20261205);
    auto random = [&](std::size_t n) { return timepipe::test::random_bytes(rng, n); };
    const std::size_t header_sizes[] = {1, 15, 16, 17, 32, 100};
    for (auto a : {AeadAlgorithm::aes_siv_cmac_256, AeadAlgorithm::aes_siv_cmac_512}) {
        for (std::size_t len = 1; len <= 200; ++len) {
            Bytes key = random(aead_key_size(a));
            std::vector<Bytes> headers{random(header_sizes[len % 6]), random(header_sizes[(len / 6) % 6])};
            Bytes plain = random(len);
            std::vector<Span> spans(headers.begin(), headers.end());
            Bytes ours = seal(siv, a, key, spans, plain);
            EXPECT_EQ(ours, openssl_siv_seal(a, key, headers, plain)) << "length " << len;
            Bytes back(len);
            auto n = siv.open(a, key, spans, ours, back);
            ASSERT_TRUE(n) << n.error().what;
            EXPECT_EQ(back, plain);
        }
    }
}

// A Siv keeps its last two keys per algorithm set up: keys reused, alternated and evicted in any
// order give what a fresh Siv gives, sealing and opening.
TEST_P(AeadOn, KeysKeptSetUpGiveTheSameResultsAsFreshOnes) {
    Siv kept(GetParam());
    std::mt19937 rng(7);
    std::vector<Bytes> keys;
    for (int i = 0; i < 3; ++i) {
        Bytes k(32);
        for (auto& x : k) x = std::byte(rng() & 0xFF);
        keys.push_back(k);
    }
    Bytes nonce(16, std::byte{1}), ad(40, std::byte{2});
    for (int step = 0; step < 60; ++step) {
        const std::size_t which = static_cast<std::size_t>((step * step + step / 3) % 3);
        const Bytes& key = keys[which];
        Bytes plain(static_cast<std::size_t>(step % 40), std::byte(step));
        Bytes a(kSivTagSize + plain.size()), b(a.size());
        ASSERT_TRUE(kept.seal(AeadAlgorithm::aes_siv_cmac_256, key, nonce, ad, plain, a));
        Siv fresh(GetParam());
        ASSERT_TRUE(fresh.seal(AeadAlgorithm::aes_siv_cmac_256, key, nonce, ad, plain, b));
        EXPECT_EQ(a, b) << "step " << step;
        Bytes back(plain.size());
        EXPECT_TRUE(kept.open(AeadAlgorithm::aes_siv_cmac_256, key, nonce, ad, a, back)) << "step " << step;
        EXPECT_FALSE(kept.open(AeadAlgorithm::aes_siv_cmac_256, keys[(which + 1) % 3], nonce,
                               ad, a, back));
    }
}

// NTS-shaped headers (associated data, then nonce): round trips at length 0 and above, both key
// sizes; a flipped bit in any input is refused.
TEST_P(AeadOn, NtsShapedRoundTripAndTamperingForBothKeySizes) {
    Siv siv(GetParam());
    for (auto a : {AeadAlgorithm::aes_siv_cmac_256, AeadAlgorithm::aes_siv_cmac_512}) {
        Bytes key(aead_key_size(a));
        for (std::size_t i = 0; i < key.size(); ++i) key[i] = std::byte(i * 7 + 1);
        Bytes ad(48 + 36, std::byte{0x23}), nonce(16, std::byte{0x5a});
        for (std::size_t len : {0u, 1u, 15u, 16u, 17u, 200u}) {
            Bytes plain(len);
            for (std::size_t i = 0; i < len; ++i) plain[i] = std::byte(i);
            Bytes sealed(kSivTagSize + len);
            auto n = siv.seal(a, key, nonce, ad, plain, sealed);
            ASSERT_TRUE(n) << n.error().what;
            Bytes back(len);
            auto m = siv.open(a, key, nonce, ad, sealed, back);
            ASSERT_TRUE(m) << m.error().what;
            EXPECT_EQ(back, plain);
            // a flipped bit anywhere: in the sealed text, the nonce, the associated data, the key
            for (std::size_t bit = 0; bit < sealed.size() * 8; bit += 13) {
                Bytes t = sealed;
                t[bit / 8] ^= std::byte(1u << (bit % 8));
                EXPECT_FALSE(siv.open(a, key, nonce, ad, t, back)) << len << " " << bit;
            }
            Bytes n2 = nonce, ad2 = ad, k2 = key;
            n2[3] ^= std::byte{4};
            ad2[47] ^= std::byte{1};
            k2[0] ^= std::byte{0x80};  // K1, the S2V half (K2 only encrypts: an empty message never uses it)
            EXPECT_FALSE(siv.open(a, key, n2, ad, sealed, back));
            EXPECT_FALSE(siv.open(a, key, nonce, ad2, sealed, back));
            EXPECT_FALSE(siv.open(a, k2, nonce, ad, sealed, back));
            EXPECT_FALSE(siv.open(a, key, ad, nonce, sealed, back));  // headers swapped
        }
    }
}

TEST_P(AeadOn, WrongKeySizeAndShortBuffersAreSoftwareErrors) {
    Siv siv(GetParam());
    Bytes key(31), nonce(16), ad(48), plain(4), out(kSivTagSize + 4);
    auto n = siv.seal(AeadAlgorithm::aes_siv_cmac_256, key, nonce, ad, plain, out);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().exit_code, EX_SOFTWARE);
    key.resize(32);
    Bytes small(kSivTagSize + 3);
    EXPECT_FALSE(siv.seal(AeadAlgorithm::aes_siv_cmac_256, key, nonce, ad, plain, small));
    Bytes short_sealed(kSivTagSize - 1);
    auto m = siv.open(AeadAlgorithm::aes_siv_cmac_256, key, nonce, ad, short_sealed, out);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().what, "authentication failed");
}

// Siv::run: seals and opens of both algorithms under up to 8 keys the caller holds (SivKey), in
// one call, give job by job what seal() and open() of a fresh Siv give; a tampered message, an
// unset key and a short buffer fail their own job only. Keys are set up by the first run that
// uses them, and a key set again is set up again.
TEST_P(AeadOn, JobsRunTogetherEqualEachAloneAndFailAlone) {
    Siv siv(GetParam());
    std::mt19937 rng(11);
    auto random = [&](std::size_t n) { return timepipe::test::random_bytes(rng, n); };
    for (int round = 0; round < 150; ++round) {
        const std::size_t n_keys = 1 + rng() % 8, count = 1 + rng() % 40;
        std::vector<AeadAlgorithm> algs;
        std::vector<Bytes> keys;
        std::vector<std::unique_ptr<SivKey>> held;
        for (std::size_t i = 0; i < n_keys; ++i) {
            algs.push_back(rng() % 3 == 0 ? AeadAlgorithm::aes_siv_cmac_512 : AeadAlgorithm::aes_siv_cmac_256);
            keys.push_back(random(aead_key_size(algs.back())));
            held.push_back(std::make_unique<SivKey>(GetParam()));
            if (rng() % 4 == 0) {  // set up for another key first: set() starts over
                held.back()->set(algs.back(), random(aead_key_size(algs.back())));
                Bytes out(kSivTagSize);
                Siv::Job warm{.seal = true, .key = held.back().get(), .headers = {}, .in = {}, .out = out};
                siv.run(std::span(&warm, 1));
                ASSERT_TRUE(warm.result);
            }
            held.back()->set(algs.back(), keys.back());
        }
        SivKey unset(GetParam());
        struct Case {
            std::size_t key;
            bool seal, tamper, bad_key, short_out;
            Bytes ad, nonce, in, out;
            std::array<std::span<const std::byte>, 2> headers;
        };
        std::vector<Case> cases(count);
        std::vector<Siv::Job> jobs;
        for (auto& c : cases) {
            c.key = rng() % n_keys;
            c.seal = rng() % 2 == 0;
            c.tamper = !c.seal && rng() % 5 == 0;
            c.bad_key = rng() % 17 == 0;
            c.short_out = !c.bad_key && rng() % 19 == 0;
            c.ad = random(rng() % 200);
            c.nonce = random(1 + rng() % 16);
            const Bytes plain = random(rng() % 120);
            if (c.seal) {
                c.in = plain;
            } else {  // a message sealed beforehand, alone
                c.in.resize(kSivTagSize + plain.size());
                Siv other(GetParam());
                ASSERT_TRUE(other.seal(algs[c.key], keys[c.key], c.nonce, c.ad, plain, c.in));
                if (c.tamper) c.in[rng() % c.in.size()] ^= std::byte{0x10};
            }
            c.out.resize((c.seal ? kSivTagSize + plain.size() : plain.size()) - (c.short_out ? 1 : 0));
        }
        for (auto& c : cases) {
            c.headers = {std::span<const std::byte>(c.ad), std::span<const std::byte>(c.nonce)};
            jobs.push_back({.seal = c.seal, .key = c.bad_key ? &unset : held[c.key].get(), .headers = c.headers,
                            .in = c.in, .out = c.out});
        }
        siv.run(jobs);
        for (std::size_t i = 0; i < count; ++i) {
            const Case& c = cases[i];
            if (c.bad_key) {
                ASSERT_FALSE(jobs[i].result);
                EXPECT_EQ(jobs[i].result.error().what, "AES-SIV: no key set");
                continue;
            }
            Siv alone(GetParam());
            Bytes expected(c.out.size());
            auto r = c.seal ? alone.seal(algs[c.key], keys[c.key], c.nonce, c.ad, c.in, expected)
                            : alone.open(algs[c.key], keys[c.key], c.nonce, c.ad, c.in, expected);
            ASSERT_EQ(jobs[i].result.has_value(), r.has_value()) << "round " << round << " job " << i;
            EXPECT_EQ(!r, c.tamper || c.short_out) << "round " << round << " job " << i;
            if (r) {
                EXPECT_EQ(*jobs[i].result, *r);
                EXPECT_EQ(c.out, expected) << "round " << round << " job " << i;
            } else {
                EXPECT_EQ(jobs[i].result.error().what, r.error().what);
            }
        }
    }
}
