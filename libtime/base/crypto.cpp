#include "libtime/base/crypto.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <sodium.h>

namespace timepipe::crypto {
namespace {

// libsodium takes unsigned char pointers; std::byte and unsigned char may alias each other, and
// this is the one place that converts.
unsigned char* uc(std::byte* p) { return static_cast<unsigned char*>(static_cast<void*>(p)); }
const unsigned char* uc(const std::byte* p) { return static_cast<const unsigned char*>(static_cast<const void*>(p)); }

void require_init() {
    // Without libsodium every signature check would be meaningless: stop rather than guess.
    if (!init()) std::abort();
}

// context ‖ message in one buffer: Ed25519 signs a contiguous message. Roughtime's signed parts
// (DELE, SREP) are a few hundred bytes, so the stack buffer covers every real call.
template <class F>
auto with_concatenation(std::span<const std::byte> a, std::span<const std::byte> b, F&& f) {
    std::array<std::byte, 1024> stack;
    std::vector<std::byte> heap;
    std::span<std::byte> buf;
    if (a.size() + b.size() <= stack.size()) {
        buf = std::span<std::byte>(stack).first(a.size() + b.size());
    } else {
        heap.resize(a.size() + b.size());
        buf = heap;
    }
    std::copy(a.begin(), a.end(), buf.begin());
    std::copy(b.begin(), b.end(), buf.begin() + static_cast<std::ptrdiff_t>(a.size()));
    return f(std::span<const std::byte>(buf));
}

}  // namespace

bool init() {
    // sodium_init() is itself idempotent and thread-safe; the static just keeps the answer.
    static const bool ok = sodium_init() >= 0;
    return ok;
}

void secure_zero(std::span<std::byte> bytes) { sodium_memzero(bytes.data(), bytes.size()); }

bool same_secret(std::span<const std::byte> a, std::span<const std::byte> b) {
    if (a.size() != b.size()) return false;
    std::uint64_t diff = 0;
    std::size_t i = 0;
    for (; i + 8 <= a.size(); i += 8) {
        std::uint64_t x, y;
        std::memcpy(&x, a.data() + i, 8);
        std::memcpy(&y, b.data() + i, 8);
        diff |= x ^ y;
    }
    for (; i < a.size(); ++i) diff |= std::to_integer<std::uint64_t>(a[i] ^ b[i]);
    return diff == 0;
}

Ed25519KeyPair ed25519_from_seed(std::span<const std::byte, kEd25519SeedSize> seed) {
    require_init();
    static_assert(crypto_sign_SEEDBYTES == kEd25519SeedSize && crypto_sign_PUBLICKEYBYTES == kEd25519PublicKeySize &&
                  crypto_sign_SECRETKEYBYTES == kEd25519SecretKeySize && crypto_sign_BYTES == kEd25519SignatureSize);
    Ed25519KeyPair kp;
    crypto_sign_seed_keypair(uc(kp.public_key.data()), uc(kp.secret_key.span().data()), uc(seed.data()));
    return kp;
}

Ed25519KeyPair ed25519_generate() {
    require_init();
    SecretBytes<kEd25519SeedSize> seed;
    random_bytes(seed.span());
    return ed25519_from_seed(seed.span());
}

Signature ed25519_sign(const SecretBytes<kEd25519SecretKeySize>& secret_key, std::span<const std::byte> context,
                       std::span<const std::byte> message) {
    require_init();
    Signature sig{};
    with_concatenation(context, message, [&](std::span<const std::byte> m) {
        crypto_sign_detached(uc(sig.data()), nullptr, uc(m.data()), m.size(), uc(secret_key.span().data()));
        return 0;
    });
    return sig;
}

bool ed25519_verify(std::span<const std::byte, kEd25519PublicKeySize> public_key,
                    std::span<const std::byte> context, std::span<const std::byte> message,
                    std::span<const std::byte, kEd25519SignatureSize> signature) {
    require_init();
    return with_concatenation(context, message, [&](std::span<const std::byte> m) {
        return crypto_sign_verify_detached(uc(signature.data()), uc(m.data()), m.size(), uc(public_key.data())) == 0;
    });
}

Sha512Digest sha512(std::span<const std::byte> data) {
    require_init();
    Sha512Digest d{};
    crypto_hash_sha512(uc(d.data()), uc(data.data()), data.size());
    return d;
}

Sha512Digest sha512(std::span<const std::byte> a, std::span<const std::byte> b) {
    return Sha512().update(a).update(b).finish();
}

Sha512::Sha512() {
    require_init();
    crypto_hash_sha512_init(&state_);
}

Sha512& Sha512::update(std::span<const std::byte> data) {
    crypto_hash_sha512_update(&state_, uc(data.data()), data.size());
    return *this;
}

Sha512Digest Sha512::finish() {
    Sha512Digest d{};
    crypto_hash_sha512_final(&state_, uc(d.data()));
    return d;
}

void random_bytes(std::span<std::byte> out) {
    require_init();
    randombytes_buf(out.data(), out.size());
}

RandomPool::~RandomPool() { secure_zero(buffer_); }

void RandomPool::fill(std::span<std::byte> out) {
    if (out.size() > buffer_.size() / 4) {  // large requests gain nothing from the pool
        random_bytes(out);
        return;
    }
    if (buffer_.size() - used_ < out.size()) {
        require_init();
        std::array<unsigned char, crypto_stream_chacha20_ietf_KEYBYTES> key{};
        randombytes_buf(key.data(), key.size());
        static constexpr std::array<unsigned char, crypto_stream_chacha20_ietf_NONCEBYTES> kNonce{};  // the key is never reused
        crypto_stream_chacha20_ietf(uc(buffer_.data()), buffer_.size(), kNonce.data(), key.data());
        sodium_memzero(key.data(), key.size());
        used_ = 0;
    }
    std::copy_n(buffer_.begin() + static_cast<std::ptrdiff_t>(used_), out.size(), out.begin());
    std::fill_n(buffer_.begin() + static_cast<std::ptrdiff_t>(used_), out.size(), std::byte{0});  // used once
    used_ += out.size();
}

}  // namespace timepipe::crypto
