#include "libtime/nts/aead.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sysexits.h>
#include <vector>

#include "libtime/base/crypto.hpp"

namespace timepipe::nts {

namespace {

using Block = std::array<unsigned char, 16>;

const unsigned char* u8(std::span<const std::byte> s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* u8(std::span<std::byte> s) { return reinterpret_cast<unsigned char*>(s.data()); }

Unexpected<Error> openssl_error(const char* what) {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    char buf[256] = "unknown error";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    return fail(std::string(what) + ": " + buf, EX_SOFTWARE);
}

Unexpected<Error> auth_failed() {
    ERR_clear_error();
    return fail("authentication failed", EX_DATAERR);
}

// RFC 5297 §2.3: multiplication by x in GF(2^128), on the block as two big-endian halves.
Block dbl(const Block& b) {
    std::uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; ++i) {
        hi = hi << 8 | b[static_cast<std::size_t>(i)];
        lo = lo << 8 | b[static_cast<std::size_t>(i) + 8];
    }
    const std::uint64_t carry = hi >> 63;
    hi = hi << 1 | lo >> 63;
    lo = lo << 1 ^ (0x87 & (0 - carry));
    Block out;
    for (int i = 7; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = static_cast<unsigned char>(hi);
        out[static_cast<std::size_t>(i) + 8] = static_cast<unsigned char>(lo);
        hi >>= 8;
        lo >>= 8;
    }
    return out;
}

void xor_into(Block& a, const unsigned char* b) {
    for (std::size_t i = 0; i < a.size(); ++i) a[i] ^= b[i];
}

std::size_t index_of(AeadAlgorithm a) { return a == AeadAlgorithm::aes_siv_cmac_256 ? 0 : 1; }

constexpr Block kZero{};

}  // namespace

std::optional<AeadAlgorithm> aead_from_id(std::uint16_t id) {
    switch (id) {
    case 15: return AeadAlgorithm::aes_siv_cmac_256;
    case 17: return AeadAlgorithm::aes_siv_cmac_512;
    default: return std::nullopt;
    }
}

std::size_t aead_key_size(AeadAlgorithm a) { return a == AeadAlgorithm::aes_siv_cmac_256 ? 32 : 64; }

std::string_view aead_name(AeadAlgorithm a) {
    return a == AeadAlgorithm::aes_siv_cmac_256 ? "AEAD_AES_SIV_CMAC_256" : "AEAD_AES_SIV_CMAC_512";
}

// SIV (RFC 5297 §2.6, §2.7) built here from OpenSSL's AES in CBC mode (for CMAC, RFC 4493) and
// CTR mode. OpenSSL's own "AES-SIV" cipher would do, but it fetches a CMAC implementation and
// allocates contexts at every key change (ossl_siv128_init), and NTS changes keys at every
// message: that cost several microseconds per message. Here every context is made once, per
// Siv, and a new key costs an AES key schedule. Unit tests check this against RFC 5297's
// vectors, Wycheproof's, and OpenSSL's SIV on random inputs.
struct Siv::Contexts {
    EVP_CIPHER* cbc[2] = {EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr),
                          EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr)};
    EVP_CIPHER* ctr[2] = {EVP_CIPHER_fetch(nullptr, "AES-128-CTR", nullptr),
                          EVP_CIPHER_fetch(nullptr, "AES-256-CTR", nullptr)};
    EVP_CIPHER_CTX* mac_ctx[2] = {EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_new()};
    EVP_CIPHER_CTX* ctr_ctx[2] = {EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_new()};
    bool ready = false;
    // The CMAC key now in `mac` and its subkeys (RFC 4493 §2.3); `chain`, the context's CBC
    // chaining value: the last block it output.
    EVP_CIPHER_CTX* mac = nullptr;
    Block sub1{}, sub2{}, chain{};
    crypto::RandomPool nonces;
    std::vector<unsigned char> scratch;  // CBC's output, which CMAC discards
    std::vector<unsigned char> last_string;  // S2V's T = P xorend D

    Contexts() {
        ready = true;
        for (std::size_t i = 0; i < 2; ++i) {
            // The cipher is given once, here: a later init with only a key keeps the context.
            ready = ready && cbc[i] && ctr[i] && mac_ctx[i] && ctr_ctx[i] &&
                    EVP_EncryptInit_ex2(mac_ctx[i], cbc[i], nullptr, nullptr, nullptr) == 1 &&
                    EVP_CIPHER_CTX_set_padding(mac_ctx[i], 0) == 1 &&
                    EVP_EncryptInit_ex2(ctr_ctx[i], ctr[i], nullptr, nullptr, nullptr) == 1;
        }
    }
    ~Contexts() {
        for (std::size_t i = 0; i < 2; ++i) {
            EVP_CIPHER_CTX_free(ctr_ctx[i]);
            EVP_CIPHER_CTX_free(mac_ctx[i]);
            EVP_CIPHER_free(ctr[i]);
            EVP_CIPHER_free(cbc[i]);
        }
        OPENSSL_cleanse(sub1.data(), sub1.size());
        OPENSSL_cleanse(sub2.data(), sub2.size());
        OPENSSL_cleanse(chain.data(), chain.size());
        if (!scratch.empty()) OPENSSL_cleanse(scratch.data(), scratch.size());
        if (!last_string.empty()) OPENSSL_cleanse(last_string.data(), last_string.size());
    }
    Contexts(const Contexts&) = delete;
    Contexts& operator=(const Contexts&) = delete;

    // CBC-encrypts `data` (whole blocks) onward from `chain`, which it then updates.
    bool cbc_update(const unsigned char* data, std::size_t n) {
        int len = 0;
        if (scratch.size() < 1024) scratch.resize(1024);
        while (n > 0) {
            std::size_t chunk = std::min<std::size_t>(n, scratch.size());
            if (EVP_EncryptUpdate(mac, scratch.data(), &len, data, static_cast<int>(chunk)) != 1 ||
                static_cast<std::size_t>(len) != chunk)
                return false;
            data += chunk;
            n -= chunk;
            if (n == 0) std::memcpy(chain.data(), scratch.data() + chunk - 16, 16);
        }
        return true;
    }
    // CBC-encrypts `block` as the first of a new message (IV zero) without resetting the
    // context, which costs more than the rest of a short CMAC: xoring the chaining value in
    // cancels it, AES(chain ^ (chain ^ block)) = AES(block).
    bool cbc_first(Block block) {
        xor_into(block, chain.data());
        return cbc_update(block.data(), 16);
    }

    // Sets the CMAC key and derives its subkeys: L = AES(K, 0), K1 = dbl(L), K2 = dbl(K1).
    bool cmac_key(AeadAlgorithm a, std::span<const std::byte> k) {
        mac = mac_ctx[index_of(a)];
        if (EVP_EncryptInit_ex2(mac, nullptr, u8(k), kZero.data(), nullptr) != 1) return false;
        chain = kZero;
        if (!cbc_first(kZero)) return false;
        sub1 = dbl(chain);
        sub2 = dbl(sub1);
        return true;
    }
    // CMAC (RFC 4493 §2.4) of `data` under the key of the last cmac_key.
    bool cmac(std::span<const unsigned char> data, Block& out) {
        const std::size_t n = data.size();
        const bool complete = n > 0 && n % 16 == 0;
        const std::size_t head = complete ? n - 16 : n - n % 16;  // the blocks before the last
        Block last{};
        std::memcpy(last.data(), data.data() + head, n - head);
        if (complete) {
            xor_into(last, sub1.data());
        } else {
            last[n - head] = 0x80;  // padding 10*
            xor_into(last, sub2.data());
        }
        if (head > 0) {
            Block first{};
            std::memcpy(first.data(), data.data(), 16);
            if (!cbc_first(first) || !cbc_update(data.data() + 16, head - 16) || !cbc_update(last.data(), 16))
                return false;
        } else if (!cbc_first(last)) {
            return false;
        }
        out = chain;
        return true;
    }

    // S2V (RFC 5297 §2.4) of the headers and then the plaintext, under K1.
    Result<Block> s2v(AeadAlgorithm a, std::span<const std::byte> k1, Siv::Headers headers,
                      std::span<const std::byte> plaintext) {
        Block d{}, m{};
        if (!cmac_key(a, k1) || !cmac(kZero, d)) return openssl_error("AES-CMAC");
        for (auto s : headers) {
            if (!cmac({u8(s), s.size()}, m)) return openssl_error("AES-CMAC");
            d = dbl(d);
            xor_into(d, m.data());
        }
        Block v{};
        const std::size_t n = plaintext.size();
        if (n >= 16) {  // T = P xorend D
            last_string.assign(u8(plaintext), u8(plaintext) + n);  // no allocation once grown
            for (std::size_t i = 0; i < 16; ++i) last_string[n - 16 + i] ^= d[i];
            bool ok = cmac(last_string, v);
            OPENSSL_cleanse(last_string.data(), n);
            if (!ok) return openssl_error("AES-CMAC");
        } else {  // T = dbl(D) xor pad(P)
            Block t = dbl(d);
            for (std::size_t i = 0; i < n; ++i) t[i] ^= static_cast<unsigned char>(plaintext[i]);
            t[n] ^= 0x80;
            bool ok = cmac(t, v);
            OPENSSL_cleanse(t.data(), t.size());
            if (!ok) return openssl_error("AES-CMAC");
        }
        return v;
    }

    // CTR(K2, Q, in) with Q = V with bits 31 and 63 (from the right) cleared (RFC 5297 §2.5).
    bool ctr_crypt(AeadAlgorithm a, std::span<const std::byte> k2, const unsigned char* v, const unsigned char* in,
                   std::size_t n, unsigned char* out) {
        if (n == 0) return true;
        Block q{};
        std::memcpy(q.data(), v, 16);
        q[8] &= 0x7f;
        q[12] &= 0x7f;
        EVP_CIPHER_CTX* c = ctr_ctx[index_of(a)];
        int len = 0;
        return EVP_EncryptInit_ex2(c, nullptr, u8(k2), q.data(), nullptr) == 1 &&
               EVP_EncryptUpdate(c, out, &len, in, static_cast<int>(n)) == 1 && static_cast<std::size_t>(len) == n;
    }
};

Siv::Siv() : ctx_(std::make_unique<Contexts>()) {}
void Siv::random_nonce(std::span<std::byte> out) { ctx_->nonces.fill(out); }
Siv::~Siv() = default;
Siv::Siv(Siv&&) noexcept = default;
Siv& Siv::operator=(Siv&&) noexcept = default;

Result<std::size_t> Siv::seal(AeadAlgorithm a, std::span<const std::byte> key, Headers headers,
                              std::span<const std::byte> plaintext, std::span<std::byte> out) {
    if (!ctx_->ready) return openssl_error("AES-SIV unavailable");
    if (key.size() != aead_key_size(a)) return fail("AES-SIV: key of " + std::to_string(key.size()) + " octets", EX_SOFTWARE);
    const std::size_t total = kSivTagSize + plaintext.size();
    if (out.size() < total) return fail("AES-SIV: output buffer too small", EX_SOFTWARE);
    const std::size_t half = key.size() / 2;  // K1 (S2V) ‖ K2 (CTR)
    auto v = ctx_->s2v(a, key.first(half), headers, plaintext);
    if (!v) return Unexpected<Error>{v.error()};
    if (!ctx_->ctr_crypt(a, key.subspan(half), v->data(), u8(plaintext), plaintext.size(), u8(out.subspan(kSivTagSize))))
        return openssl_error("AES-CTR");
    std::memcpy(out.data(), v->data(), kSivTagSize);
    return total;
}

Result<std::size_t> Siv::open(AeadAlgorithm a, std::span<const std::byte> key, Headers headers,
                              std::span<const std::byte> sealed, std::span<std::byte> out) {
    if (!ctx_->ready) return openssl_error("AES-SIV unavailable");
    if (key.size() != aead_key_size(a)) return fail("AES-SIV: key of " + std::to_string(key.size()) + " octets", EX_SOFTWARE);
    if (sealed.size() < kSivTagSize) return auth_failed();
    const std::size_t plain = sealed.size() - kSivTagSize;
    if (out.size() < plain) return fail("AES-SIV: output buffer too small", EX_SOFTWARE);
    const std::size_t half = key.size() / 2;
    if (!ctx_->ctr_crypt(a, key.subspan(half), u8(sealed), u8(sealed.subspan(kSivTagSize)), plain, u8(out)))
        return openssl_error("AES-CTR");
    auto v = ctx_->s2v(a, key.first(half), headers, out.first(plain));
    if (!v) return Unexpected<Error>{v.error()};
    if (CRYPTO_memcmp(v->data(), sealed.data(), kSivTagSize) != 0) {
        OPENSSL_cleanse(out.data(), plain);
        return auth_failed();
    }
    return plain;
}

}  // namespace timepipe::nts
