#include "libtime/nts/aead.hpp"

#include <array>
#include <cstring>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sysexits.h>

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

// RFC 5297 §2.3: multiplication by x in GF(2^128).
Block dbl(const Block& b) {
    Block out{};
    unsigned char carry = 0;
    for (int i = 15; i >= 0; --i) {
        out[i] = static_cast<unsigned char>((b[i] << 1) | carry);
        carry = static_cast<unsigned char>(b[i] >> 7);
    }
    if (carry) out[15] ^= 0x87;
    return out;
}

const char* cmac_cipher_name(AeadAlgorithm a) { return a == AeadAlgorithm::aes_siv_cmac_256 ? "AES-128-CBC" : "AES-256-CBC"; }

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

struct Siv::Contexts {
    EVP_CIPHER_CTX* cipher_ctx = EVP_CIPHER_CTX_new();
    EVP_CIPHER* siv[2] = {EVP_CIPHER_fetch(nullptr, "AES-128-SIV", nullptr),
                          EVP_CIPHER_fetch(nullptr, "AES-256-SIV", nullptr)};
    EVP_MAC* cmac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
    EVP_MAC_CTX* mac_ctx = cmac ? EVP_MAC_CTX_new(cmac) : nullptr;

    ~Contexts() {
        EVP_MAC_CTX_free(mac_ctx);
        EVP_MAC_free(cmac);
        for (auto* c : siv) EVP_CIPHER_free(c);
        EVP_CIPHER_CTX_free(cipher_ctx);
    }
    bool ok() const { return cipher_ctx && siv[0] && siv[1] && cmac && mac_ctx; }
    EVP_CIPHER* cipher(AeadAlgorithm a) const { return siv[a == AeadAlgorithm::aes_siv_cmac_256 ? 0 : 1]; }

    // One CMAC under the key set by the last start_cmac.
    bool cmac_of(std::span<const unsigned char> data, Block& out) {
        size_t len = 0;
        return EVP_MAC_init(mac_ctx, nullptr, 0, nullptr) == 1 && EVP_MAC_update(mac_ctx, data.data(), data.size()) == 1 &&
               EVP_MAC_final(mac_ctx, out.data(), &len, out.size()) == 1 && len == out.size();
    }
    bool start_cmac(AeadAlgorithm a, std::span<const std::byte> k1) {
        char name[16];
        std::strncpy(name, cmac_cipher_name(a), sizeof name);
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, name, 0), OSSL_PARAM_construct_end()};
        return EVP_MAC_init(mac_ctx, u8(k1), k1.size(), params) == 1;
    }

    // S2V(K1, headers..., <empty plaintext>) (RFC 5297 §2.4): the whole SIV of an empty message.
    Result<Block> s2v_empty(AeadAlgorithm a, std::span<const std::byte> k1, Siv::Headers headers) {
        if (!start_cmac(a, k1)) return openssl_error("CMAC");
        Block zero{}, d{}, m{};
        if (!cmac_of(zero, d)) return openssl_error("CMAC");
        for (auto s : headers) {
            if (!cmac_of({u8(s), s.size()}, m)) return openssl_error("CMAC");
            d = dbl(d);
            for (std::size_t i = 0; i < d.size(); ++i) d[i] ^= m[i];
        }
        Block t = dbl(d);  // the last string is shorter than a block: dbl(D) xor pad(""), pad = 10*
        t[0] ^= 0x80;
        Block v{};
        if (!cmac_of(t, v)) return openssl_error("CMAC");
        return v;
    }
};

Siv::Siv() : ctx_(std::make_unique<Contexts>()) {}
Siv::~Siv() = default;
Siv::Siv(Siv&&) noexcept = default;
Siv& Siv::operator=(Siv&&) noexcept = default;

Result<std::size_t> Siv::seal(AeadAlgorithm a, std::span<const std::byte> key, Headers headers,
                              std::span<const std::byte> plaintext, std::span<std::byte> out) {
    if (!ctx_->ok()) return openssl_error("AES-SIV unavailable");
    if (key.size() != aead_key_size(a)) return fail("AES-SIV: key of " + std::to_string(key.size()) + " octets", EX_SOFTWARE);
    const std::size_t total = kSivTagSize + plaintext.size();
    if (out.size() < total) return fail("AES-SIV: output buffer too small", EX_SOFTWARE);
    if (plaintext.empty()) {
        auto v = ctx_->s2v_empty(a, key.first(key.size() / 2), headers);
        if (!v) return Unexpected<Error>{v.error()};
        std::memcpy(out.data(), v->data(), kSivTagSize);
        return total;
    }
    EVP_CIPHER_CTX* c = ctx_->cipher_ctx;
    int len = 0;
    unsigned char none[kSivTagSize];
    if (EVP_EncryptInit_ex2(c, ctx_->cipher(a), u8(key), nullptr, nullptr) != 1)
        return openssl_error("AES-SIV encrypt");
    for (auto h : headers)  // each update without output is one S2V header
        if (EVP_EncryptUpdate(c, nullptr, &len, u8(h), static_cast<int>(h.size())) != 1) return openssl_error("AES-SIV encrypt");
    if (EVP_EncryptUpdate(c, u8(out.subspan(kSivTagSize)), &len, u8(plaintext), static_cast<int>(plaintext.size())) != 1 ||
        EVP_EncryptFinal_ex(c, none, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kSivTagSize), out.data()) != 1)
        return openssl_error("AES-SIV encrypt");
    return total;
}

Result<std::size_t> Siv::open(AeadAlgorithm a, std::span<const std::byte> key, Headers headers,
                              std::span<const std::byte> sealed, std::span<std::byte> out) {
    if (!ctx_->ok()) return openssl_error("AES-SIV unavailable");
    if (key.size() != aead_key_size(a)) return fail("AES-SIV: key of " + std::to_string(key.size()) + " octets", EX_SOFTWARE);
    if (sealed.size() < kSivTagSize) return auth_failed();
    const std::size_t plain = sealed.size() - kSivTagSize;
    if (out.size() < plain) return fail("AES-SIV: output buffer too small", EX_SOFTWARE);
    if (plain == 0) {
        auto v = ctx_->s2v_empty(a, key.first(key.size() / 2), headers);
        if (!v) return Unexpected<Error>{v.error()};
        if (CRYPTO_memcmp(v->data(), sealed.data(), kSivTagSize) != 0) return auth_failed();
        return std::size_t{0};
    }
    EVP_CIPHER_CTX* c = ctx_->cipher_ctx;
    int len = 0;
    auto* tag = const_cast<unsigned char*>(u8(sealed.first(kSivTagSize)));  // OpenSSL copies it
    unsigned char none[kSivTagSize];
    if (EVP_DecryptInit_ex2(c, ctx_->cipher(a), u8(key), nullptr, nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kSivTagSize), tag) != 1)
        return openssl_error("AES-SIV decrypt");
    for (auto h : headers)
        if (EVP_DecryptUpdate(c, nullptr, &len, u8(h), static_cast<int>(h.size())) != 1) return openssl_error("AES-SIV decrypt");
    // The check happens in the update that decrypts (and in final): a failure is a forgery.
    if (EVP_DecryptUpdate(c, u8(out), &len, u8(sealed.subspan(kSivTagSize)), static_cast<int>(plain)) != 1 ||
        EVP_DecryptFinal_ex(c, none, &len) != 1) {
        OPENSSL_cleanse(out.data(), plain);
        return auth_failed();
    }
    return plain;
}

}  // namespace timepipe::nts
