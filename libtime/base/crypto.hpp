// Thin wrappers over libsodium for what Roughtime needs: Ed25519 (RFC 8032) keys from a seed,
// detached signatures over a context string followed by a message, SHA-512, random bytes, and a
// secret-holding type that zeroes itself and never prints.
//
//   auto kp = crypto::ed25519_from_seed(seed);                // seed: 32 bytes
//   auto sig = crypto::ed25519_sign(kp.secret_key, context, message);
//   bool ok = crypto::ed25519_verify(kp.public_key, context, message, sig);
//   auto digest = crypto::sha512(bytes);                      // 64 bytes; Roughtime truncates
//
// Every function calls init() itself; callers may call it early to fail fast.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>

#include <sodium/crypto_hash_sha512.h>

namespace timepipe::crypto {

inline constexpr std::size_t kEd25519SeedSize = 32;
inline constexpr std::size_t kEd25519PublicKeySize = 32;
inline constexpr std::size_t kEd25519SecretKeySize = 64;  // libsodium's form: seed ‖ public key
inline constexpr std::size_t kEd25519SignatureSize = 64;
inline constexpr std::size_t kSha512Size = 64;

using PublicKey = std::array<std::byte, kEd25519PublicKeySize>;
using Signature = std::array<std::byte, kEd25519SignatureSize>;
using Sha512Digest = std::array<std::byte, kSha512Size>;

// sodium_init() exactly once (thread-safe); false if libsodium cannot be used (no entropy source).
bool init();

// Fixed-size secret bytes: zeroed (sodium_memzero) on destruction and after being moved from;
// not copyable, and streaming one prints a placeholder, never the bytes.
template <std::size_t N>
class SecretBytes {
public:
    SecretBytes() = default;
    explicit SecretBytes(std::span<const std::byte, N> from) {
        for (std::size_t i = 0; i < N; ++i) bytes_[i] = from[i];
    }
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;
    SecretBytes(SecretBytes&& other) noexcept : bytes_(other.bytes_) { other.wipe(); }
    SecretBytes& operator=(SecretBytes&& other) noexcept {
        if (this != &other) {
            bytes_ = other.bytes_;
            other.wipe();
        }
        return *this;
    }
    ~SecretBytes() { wipe(); }

    std::span<std::byte, N> span() { return bytes_; }
    std::span<const std::byte, N> span() const { return bytes_; }
    static constexpr std::size_t size() { return N; }

    friend std::ostream& operator<<(std::ostream& os, const SecretBytes&) {
        return os << "<secret " << N << " bytes>";
    }

private:
    void wipe();
    std::array<std::byte, N> bytes_{};
};

void secure_zero(std::span<std::byte> bytes);  // sodium_memzero: not optimised away
// Whether two keys are equal, in time that does not depend on where they differ (a word at a
// time: cheap enough to look a key up by its octets on every message).
bool same_secret(std::span<const std::byte> a, std::span<const std::byte> b);

template <std::size_t N>
void SecretBytes<N>::wipe() {
    secure_zero(bytes_);
}

struct Ed25519KeyPair {
    PublicKey public_key{};
    SecretBytes<kEd25519SecretKeySize> secret_key;
};

// Deterministic (RFC 8032 §5.1.5): the same seed always gives the same key pair.
Ed25519KeyPair ed25519_from_seed(std::span<const std::byte, kEd25519SeedSize> seed);
// A fresh key pair from randombytes.
Ed25519KeyPair ed25519_generate();

// Signs context ‖ message (Roughtime prefixes each signed message with a context string,
// RFC 10049 §5.2.5/§5.2.6). Either part may be empty.
Signature ed25519_sign(const SecretBytes<kEd25519SecretKeySize>& secret_key, std::span<const std::byte> context,
                       std::span<const std::byte> message);
bool ed25519_verify(std::span<const std::byte, kEd25519PublicKeySize> public_key,
                    std::span<const std::byte> context, std::span<const std::byte> message,
                    std::span<const std::byte, kEd25519SignatureSize> signature);

// SHA-512 (FIPS 180-4), one shot or incrementally.
Sha512Digest sha512(std::span<const std::byte> data);
Sha512Digest sha512(std::span<const std::byte> a, std::span<const std::byte> b);  // of a ‖ b

class Sha512 {
public:
    Sha512();
    Sha512& update(std::span<const std::byte> data);
    Sha512Digest finish();  // the object is spent afterwards

private:
    crypto_hash_sha512_state state_{};
};

// Cryptographically secure random bytes (randombytes_buf).
void random_bytes(std::span<std::byte> out);

// Random bytes for a hot path, 4 KiB at a time: each refill is the ChaCha20 keystream (libsodium)
// under a fresh 32-octet key from random_bytes, so a server making a nonce per response makes
// one getrandom(2) call per 256 of them, and the kernel generates 32 octets instead of 4 KiB
// (getrandom of 4 KiB costs ~23 us here, ChaCha20 ~3 us). One per thread; not to be carried
// across fork() (the child would repeat the parent's bytes).
class RandomPool {
public:
    RandomPool() = default;
    ~RandomPool();
    RandomPool(const RandomPool&) = delete;
    RandomPool& operator=(const RandomPool&) = delete;
    void fill(std::span<std::byte> out);

private:
    std::array<std::byte, 4096> buffer_{};
    std::size_t used_ = buffer_.size();
};

}  // namespace timepipe::crypto
