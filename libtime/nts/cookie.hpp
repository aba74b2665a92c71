// NTS cookies (RFC 8915 §6) and the server's master keys that seal them. Our format, which any
// server holding the same key file opens — that is how several ntp-serve processes (or
// machines behind one anycast address) serve the clients of one nts-ke:
//
//   cookie = key id (4) ‖ nonce (16) ‖ AES-SIV-CMAC-256(master key, nonce, ad = key id,
//                                          AEAD id (2) ‖ zero (2) ‖ C2S key ‖ S2C key)
//
// 104 octets for AES-SIV-CMAC-256 session keys, 168 for -512: whole 32-bit words, so a cookie
// fits an NTP extension field without padding and comes back from a client exactly as sent. The key id names the master key, so a server
// keeps accepting cookies of the previous keys after a rotation; a cookie of a key no longer in
// the file is refused (the client gets an NTS NAK and runs NTS-KE again).
//
// Key file (text, mode 0600; written by nts-ke, read by nts-ke and ntp-serve):
//   # comment lines
//   <key id, 8 hex digits> <master key, 64 hex digits> <created, Unix seconds>
// one line per key, oldest first: the last line is the current key, the one new cookies use.
//
//   Siv siv;
//   auto keys = parse_cookie_keys(text);                 // Result<CookieKeys>
//   auto c = seal_cookie(siv, keys->current(), session); // std::vector<std::byte>
//   auto s = open_cookie(siv, *keys, c);                 // Result<SessionKeys>
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/crypto.hpp"
#include "libtime/base/error.hpp"
#include "libtime/nts/aead.hpp"

namespace timepipe::nts {

inline constexpr std::size_t kMasterKeySize = 32;  // AES-SIV-CMAC-256
inline constexpr std::size_t kCookieNonceSize = 16;
inline constexpr std::size_t kMaxKeyFileSize = 64 * 1024;

// The two keys of one client's NTS session, exported from its TLS session (RFC 8915 §5.1).
// Zeroed when destroyed.
class SessionKeys {
public:
    SessionKeys() = default;
    SessionKeys(AeadAlgorithm a, std::span<const std::byte> c2s, std::span<const std::byte> s2c);
    SessionKeys(const SessionKeys& o);
    SessionKeys& operator=(const SessionKeys& o);
    ~SessionKeys();

    AeadAlgorithm aead() const { return aead_; }
    std::span<const std::byte> c2s() const { return std::span(c2s_).first(size_); }
    std::span<const std::byte> s2c() const { return std::span(s2c_).first(size_); }
    friend bool operator==(const SessionKeys& a, const SessionKeys& b) {
        return a.aead_ == b.aead_ && a.size_ == b.size_ && a.c2s_ == b.c2s_ && a.s2c_ == b.s2c_;
    }

private:
    AeadAlgorithm aead_ = AeadAlgorithm::aes_siv_cmac_256;
    std::size_t size_ = 0;
    std::array<std::byte, kMaxAeadKeySize> c2s_{}, s2c_{};
};

struct CookieKey {
    std::uint32_t id = 0;
    crypto::SecretBytes<kMasterKeySize> key;
    std::int64_t created = 0;  // Unix seconds
};

class CookieKeys {
public:
    std::vector<CookieKey> keys;  // oldest first; the last is current

    bool empty() const { return keys.empty(); }
    const CookieKey& current() const { return keys.back(); }
    const CookieKey* find(std::uint32_t id) const;
};

// Errors name the line: "line 3: the key is not 64 hex digits". An empty file is an error.
Result<CookieKeys> parse_cookie_keys(std::string_view text);
std::string format_cookie_keys(const CookieKeys& keys);
// Adds a fresh random key (a new random id) as current, created at `now`, and keeps at most
// `keep_old` of the previous ones.
void rotate_cookie_keys(CookieKeys& keys, std::int64_t now, std::size_t keep_old);

std::size_t cookie_size(AeadAlgorithm session_aead);
inline constexpr std::size_t kCookieHeadSize = 4 + kCookieNonceSize;  // key id, nonce: then SIV ‖ C
inline constexpr std::size_t kMaxCookieSize = 168;                    // cookie_size(aes_siv_cmac_512)
inline constexpr std::size_t kMaxCookiePlaintext = 4 + 2 * kMaxAeadKeySize;

// Seals `session` under `key` with a fresh random nonce.
std::vector<std::byte> seal_cookie(Siv& siv, const CookieKey& key, const SessionKeys& session);
// Errors: "cookie of N octets" (malformed), "unknown cookie key 0x12345678" (rotated out or from
// another server), "authentication failed" (forged or damaged), "unsupported algorithm N".
Result<SessionKeys> open_cookie(Siv& siv, const CookieKeys& keys, std::span<const std::byte> cookie);

// The pieces of those two, for a server that seals and opens many cookies at once as SIV jobs
// (Siv::run; NtsServer):
// the plaintext sealed for `session` (AEAD id ‖ 0 ‖ C2S ‖ S2C) in `out`; returns its size;
std::size_t cookie_plaintext(const SessionKeys& session, std::span<std::byte, kMaxCookiePlaintext> out);
// the session's algorithm, when an opened plaintext is one ("unsupported algorithm N"); its
// keys follow: C2S at [4, 4 + aead_key_size), S2C after it;
Result<AeadAlgorithm> cookie_session_aead(std::span<const std::byte> plaintext);
// writes key id and a fresh nonce at the head of a cookie (the seal goes after them);
void write_cookie_head(Siv& siv, std::uint32_t key_id, std::span<std::byte> cookie);
// the associated data and nonce a cookie is sealed with (they point into `cookie`);
std::array<std::span<const std::byte>, 2> cookie_headers(std::span<const std::byte> cookie);
// the key that opens `cookie` ("cookie of N octets", "unknown cookie key 0x12345678").
Result<const CookieKey*> cookie_key_of(const CookieKeys& keys, std::span<const std::byte> cookie);

}  // namespace timepipe::nts
