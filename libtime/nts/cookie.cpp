#include "libtime/nts/cookie.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "libtime/base/base64.hpp"

namespace timepipe::nts {

namespace {

constexpr std::size_t kKeyIdSize = 4;
constexpr std::size_t kAeadIdSize = 4;  // the AEAD's number and two zero octets: whole words

std::array<std::byte, kKeyIdSize> id_bytes(std::uint32_t id) {
    return {std::byte(id >> 24), std::byte(id >> 16), std::byte(id >> 8), std::byte(id)};
}

std::uint32_t id_of(std::span<const std::byte> b) {
    return (std::to_integer<std::uint32_t>(b[0]) << 24) | (std::to_integer<std::uint32_t>(b[1]) << 16) |
           (std::to_integer<std::uint32_t>(b[2]) << 8) | std::to_integer<std::uint32_t>(b[3]);
}

std::string id_text(std::uint32_t id) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", id);
    return buf;
}

std::string_view next_word(std::string_view& line) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos) {
        line = {};
        return {};
    }
    line.remove_prefix(start);
    auto end = line.find_first_of(" \t");
    auto w = line.substr(0, end);
    line.remove_prefix(end == std::string_view::npos ? line.size() : end);
    return w;
}

}  // namespace

SessionKeys::SessionKeys(AeadAlgorithm a, std::span<const std::byte> c2s, std::span<const std::byte> s2c)
    : aead_(a), size_(std::min({c2s.size(), s2c.size(), kMaxAeadKeySize})) {
    std::copy_n(c2s.begin(), size_, c2s_.begin());
    std::copy_n(s2c.begin(), size_, s2c_.begin());
}

SessionKeys::SessionKeys(const SessionKeys& o) = default;
SessionKeys& SessionKeys::operator=(const SessionKeys& o) = default;

SessionKeys::~SessionKeys() {
    crypto::secure_zero(c2s_);
    crypto::secure_zero(s2c_);
}

const CookieKey* CookieKeys::find(std::uint32_t id) const {
    for (const auto& k : keys)
        if (k.id == id) return &k;
    return nullptr;
}

Result<CookieKeys> parse_cookie_keys(std::string_view text) {
    CookieKeys out;
    int line_no = 0;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        ++line_no;
        auto where = "line " + std::to_string(line_no) + ": ";
        auto first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos || line[first] == '#') continue;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        auto id_word = next_word(line);
        auto key_word = next_word(line);
        auto created_word = next_word(line);
        if (!next_word(line).empty()) return fail(where + "more than three words");
        CookieKey k;
        auto r = std::from_chars(id_word.data(), id_word.data() + id_word.size(), k.id, 16);
        if (id_word.size() != 8 || r.ec != std::errc() || r.ptr != id_word.data() + id_word.size())
            return fail(where + "the key id is not 8 hex digits");
        auto key = hex_decode(key_word);
        if (!key || key->size() != kMasterKeySize) {
            if (key) crypto::secure_zero(*key);
            return fail(where + "the key is not " + std::to_string(2 * kMasterKeySize) + " hex digits");
        }
        std::copy(key->begin(), key->end(), k.key.span().begin());
        crypto::secure_zero(*key);
        auto c = std::from_chars(created_word.data(), created_word.data() + created_word.size(), k.created);
        if (created_word.empty() || c.ec != std::errc() || c.ptr != created_word.data() + created_word.size() || k.created < 0)
            return fail(where + "the creation time is not Unix seconds");
        if (out.find(k.id)) return fail(where + "key id " + id_text(k.id) + " appears twice");
        out.keys.push_back(std::move(k));
    }
    if (out.empty()) return fail("no keys");
    return out;
}

std::string format_cookie_keys(const CookieKeys& keys) {
    std::string s = "# timepipe NTS cookie keys (nts-ke(8)): id, AES-SIV-CMAC-256 key, created (Unix s);\n"
                    "# oldest first, the last line is the current key. Keep it secret (mode 0600).\n";
    for (const auto& k : keys.keys) s += id_text(k.id) + " " + hex_encode(k.key.span()) + " " + std::to_string(k.created) + "\n";
    return s;
}

void rotate_cookie_keys(CookieKeys& keys, std::int64_t now, std::size_t keep_old) {
    CookieKey k;
    do {
        std::array<std::byte, kKeyIdSize> id{};
        crypto::random_bytes(id);
        k.id = id_of(id);
    } while (keys.find(k.id));
    crypto::random_bytes(k.key.span());
    k.created = now;
    if (keys.keys.size() > keep_old)
        keys.keys.erase(keys.keys.begin(), keys.keys.end() - static_cast<std::ptrdiff_t>(keep_old));
    keys.keys.push_back(std::move(k));
}

std::size_t cookie_size(AeadAlgorithm a) {
    return kKeyIdSize + kCookieNonceSize + kSivTagSize + kAeadIdSize + 2 * aead_key_size(a);
}

std::size_t cookie_plaintext(const SessionKeys& session, std::span<std::byte, kMaxCookiePlaintext> out) {
    auto id = static_cast<std::uint16_t>(session.aead());
    out[0] = std::byte(id >> 8);
    out[1] = std::byte(id & 0xFF);
    out[2] = out[3] = std::byte{0};
    std::copy(session.c2s().begin(), session.c2s().end(), out.begin() + kAeadIdSize);
    std::copy(session.s2c().begin(), session.s2c().end(), out.begin() + kAeadIdSize + session.c2s().size());
    return kAeadIdSize + session.c2s().size() + session.s2c().size();
}

Result<AeadAlgorithm> cookie_session_aead(std::span<const std::byte> plain) {
    if (plain.size() < kAeadIdSize) return fail("unsupported algorithm");
    auto id = static_cast<std::uint16_t>((std::to_integer<unsigned>(plain[0]) << 8) | std::to_integer<unsigned>(plain[1]));
    auto a = aead_from_id(id);
    if (!a || plain[2] != std::byte{0} || plain[3] != std::byte{0} || plain.size() != kAeadIdSize + 2 * aead_key_size(*a))
        return fail("unsupported algorithm " + std::to_string(id));
    return *a;
}

void write_cookie_head(Siv& siv, std::uint32_t key_id, std::span<std::byte> cookie) {
    auto kid = id_bytes(key_id);
    std::copy(kid.begin(), kid.end(), cookie.begin());
    siv.random_nonce(cookie.subspan(kKeyIdSize, kCookieNonceSize));
}

std::array<std::span<const std::byte>, 2> cookie_headers(std::span<const std::byte> cookie) {
    return {cookie.first(kKeyIdSize), cookie.subspan(kKeyIdSize, kCookieNonceSize)};
}

Result<const CookieKey*> cookie_key_of(const CookieKeys& keys, std::span<const std::byte> cookie) {
    if (cookie.size() != cookie_size(AeadAlgorithm::aes_siv_cmac_256) &&
        cookie.size() != cookie_size(AeadAlgorithm::aes_siv_cmac_512))
        return fail("cookie of " + std::to_string(cookie.size()) + " octets");
    const std::uint32_t id = id_of(cookie.first(kKeyIdSize));
    const CookieKey* key = keys.find(id);
    if (!key) return fail("unknown cookie key " + id_text(id));
    return key;
}

std::vector<std::byte> seal_cookie(Siv& siv, const CookieKey& key, const SessionKeys& session) {
    std::array<std::byte, kMaxCookiePlaintext> plain{};
    const std::size_t plain_size = cookie_plaintext(session, plain);
    std::vector<std::byte> cookie(kCookieHeadSize + kSivTagSize + plain_size);
    write_cookie_head(siv, key.id, cookie);
    auto sealed = siv.seal(AeadAlgorithm::aes_siv_cmac_256, key.key.span(), cookie_headers(cookie),
                           std::span(plain).first(plain_size), std::span(cookie).subspan(kCookieHeadSize));
    crypto::secure_zero(plain);
    if (!sealed) cookie.clear();  // only on an OpenSSL failure: the caller sends no cookie
    return cookie;
}

Result<SessionKeys> open_cookie(Siv& siv, const CookieKeys& keys, std::span<const std::byte> cookie) {
    auto key = cookie_key_of(keys, cookie);
    if (!key) return Unexpected<Error>{key.error()};
    std::array<std::byte, kMaxCookiePlaintext> plain{};
    auto opened = siv.open(AeadAlgorithm::aes_siv_cmac_256, (*key)->key.span(), cookie_headers(cookie),
                           cookie.subspan(kCookieHeadSize), plain);
    if (!opened) return Unexpected<Error>{opened.error()};
    auto a = cookie_session_aead(std::span(plain).first(*opened));
    if (!a) {
        crypto::secure_zero(plain);
        return Unexpected<Error>{a.error()};
    }
    const std::size_t n = aead_key_size(*a);
    SessionKeys s(*a, std::span(plain).subspan(kAeadIdSize, n), std::span(plain).subspan(kAeadIdSize + n, n));
    crypto::secure_zero(plain);
    return s;
}

}  // namespace timepipe::nts
