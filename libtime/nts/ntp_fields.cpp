#include "libtime/nts/ntp_fields.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "libtime/base/crypto.hpp"
#include "libtime/ntp/extension.hpp"

namespace timepipe::nts {

namespace {

constexpr std::size_t kHeaderSize = 48;
constexpr std::size_t kAuthHeadSize = 4;  // nonce length, ciphertext length

constexpr std::size_t padded(std::size_t n) { return (n + 3) & ~std::size_t{3}; }

std::uint16_t be16(std::span<const std::byte> b, std::size_t at) {
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(b[at]) << 8) | std::to_integer<unsigned>(b[at + 1]));
}

void put16(std::span<std::byte> b, std::size_t at, std::size_t v) {
    b[at] = std::byte((v >> 8) & 0xFF);
    b[at + 1] = std::byte(v & 0xFF);
}

// Writes one field at out[at): header, value, zero padding to a word and to `min_size`.
// Returns the new end, or 0 when it does not fit.
std::size_t put_field(std::span<std::byte> out, std::size_t at, std::uint16_t type, std::span<const std::byte> value,
                      std::size_t min_size = ntp::kMinFieldSize) {
    const std::size_t len = std::max(padded(ntp::kFieldHeaderSize + value.size()), min_size);
    if (len > ntp::kMaxFieldSize || at + len > out.size()) return 0;
    put16(out, at, type);
    put16(out, at + 2, len);
    std::copy(value.begin(), value.end(), out.begin() + static_cast<std::ptrdiff_t>(at + ntp::kFieldHeaderSize));
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(at + ntp::kFieldHeaderSize + value.size()),
              out.begin() + static_cast<std::ptrdiff_t>(at + len), std::byte{0});
    return at + len;
}

// Seals `plaintext` under `key` and appends the authenticator field at out[at): associated
// data out[0..at). Padded to at least `min_size` octets in all. Returns the new end or an error.
Result<std::size_t> put_authenticator(Siv& siv, AeadAlgorithm a, std::span<const std::byte> key,
                                      std::span<const std::byte> plaintext, std::span<std::byte> out, std::size_t at,
                                      std::size_t min_size = 0) {
    const std::size_t ciphertext = kSivTagSize + plaintext.size();
    std::size_t len = ntp::kFieldHeaderSize + kAuthHeadSize + padded(kNonceSize) + padded(ciphertext);
    len = std::max(len, padded(min_size));
    if (len > ntp::kMaxFieldSize || at + len > out.size()) return fail("packet buffer too small", EX_SOFTWARE);
    std::fill(out.begin() + static_cast<std::ptrdiff_t>(at), out.begin() + static_cast<std::ptrdiff_t>(at + len), std::byte{0});
    put16(out, at, kFieldAuthenticator);
    put16(out, at + 2, len);
    put16(out, at + 4, kNonceSize);
    put16(out, at + 6, ciphertext);
    auto nonce = out.subspan(at + 8, kNonceSize);
    siv.random_nonce(nonce);
    auto sealed = siv.seal(a, key, nonce, out.first(at), plaintext, out.subspan(at + 8 + padded(kNonceSize), ciphertext));
    if (!sealed) return Unexpected<Error>{sealed.error()};
    return at + len;
}

void forget_keys(Siv& siv, const SessionKeys& keys) {
    siv.forget(keys.aead(), keys.c2s());
    siv.forget(keys.aead(), keys.s2c());
}

// A server's client keys, forgotten when the request is refused after they were set up.
struct KeysForgottenUnlessKept {
    Siv& siv;
    const SessionKeys& keys;
    bool keep = false;
    ~KeysForgottenUnlessKept() {
        if (!keep) forget_keys(siv, keys);
    }
};

struct Opened {
    std::vector<std::byte> plaintext;
};

// Opens the authenticator whose field starts at `at` in `packet`: associated data packet[0..at).
Result<Opened> open_authenticator(Siv& siv, AeadAlgorithm a, std::span<const std::byte> key,
                                  std::span<const std::byte> packet, std::size_t at, std::span<const std::byte> body) {
    if (body.size() < kAuthHeadSize) return fail("authenticator too short");
    const std::size_t nonce_len = be16(body, 0);
    const std::size_t ct_len = be16(body, 2);
    if (nonce_len < 1 || ct_len < kSivTagSize) return fail("authenticator: bad nonce or ciphertext length");
    if (kAuthHeadSize + padded(nonce_len) + padded(ct_len) > body.size()) return fail("authenticator: lengths past its end");
    // §5.6: a nonce shorter than 16 octets must be padded to that length
    if (kAuthHeadSize + std::max(padded(nonce_len), kNonceSize) + padded(ct_len) > body.size())
        return fail("authenticator: short nonce without padding");
    Opened o;
    o.plaintext.resize(ct_len - kSivTagSize);
    auto nonce = body.subspan(kAuthHeadSize, nonce_len);
    auto ct = body.subspan(kAuthHeadSize + padded(nonce_len), ct_len);
    auto n = siv.open(a, key, nonce, packet.first(at), ct, o.plaintext);
    if (!n) return Unexpected<Error>{n.error()};
    return o;
}

// The fields after the header, NTS rules (no legacy MAC, last field 16 octets at least).
Result<ntp::ExtensionFields> fields_of(std::span<const std::byte> packet) {
    if (packet.size() < kHeaderSize) return fail("shorter than an NTP header");
    auto split = ntp::split_extensions(packet.subspan(kHeaderSize), ntp::ExtensionRules::Nts);
    if (!split) return fail(std::string("extension fields: ") + std::string(ntp::to_string(split.error())));
    return split->fields;
}

// Offset of a field's header in `packet` (its value span points into the packet).
std::size_t offset_of(std::span<const std::byte> packet, const ntp::ExtensionField& f) {
    return static_cast<std::size_t>(f.value.data() - packet.data()) - ntp::kFieldHeaderSize;
}

std::size_t field_end(std::span<const std::byte> packet, const ntp::ExtensionField& f) {
    std::size_t start = offset_of(packet, f);
    return start + be16(packet, start + 2);
}

}  // namespace

Result<std::size_t> write_client_request(Siv& siv, const SessionKeys& keys, std::span<const std::byte> uid,
                                         std::span<const std::byte> cookie, int placeholders,
                                         std::span<std::byte> out) {
    std::size_t at = kHeaderSize;
    at = put_field(out, at, kFieldUniqueIdentifier, uid);
    if (at) at = put_field(out, at, kFieldCookie, cookie);
    std::vector<std::byte> zeros(cookie.size());
    for (int i = 0; at && i < placeholders; ++i) at = put_field(out, at, kFieldCookiePlaceholder, zeros);
    if (!at) return fail("packet buffer too small", EX_SOFTWARE);
    return put_authenticator(siv, keys.aead(), keys.c2s(), {}, out, at);
}

Result<std::vector<Cookie>> read_server_response(Siv& siv, const SessionKeys& keys, std::span<const std::byte> uid,
                                                 std::span<const std::byte> packet) {
    auto fields = fields_of(packet);
    if (!fields) return Unexpected<Error>{fields.error()};
    bool uid_ok = false, auth_ok = false;
    std::vector<Cookie> cookies;
    for (auto f : *fields) {
        if (f.type == kFieldUniqueIdentifier) {
            // the value keeps its padding: ours is exactly 32 octets, a word multiple
            if (f.value.size() != uid.size() || !std::equal(uid.begin(), uid.end(), f.value.begin()))
                return fail("unique identifier does not match the request");
            uid_ok = true;
        } else if (f.type == kFieldAuthenticator) {
            if (field_end(packet, f) != packet.size()) return fail("authenticator is not the last field");
            if (!uid_ok) return fail("authenticator before the unique identifier");
            auto o = open_authenticator(siv, keys.aead(), keys.s2c(), packet, offset_of(packet, f), f.value);
            if (!o) return fail("authenticator: " + o.error().what);
            auto inner = ntp::split_extensions(o->plaintext, ntp::ExtensionRules::Nts);
            if (!inner) return fail("encrypted fields: " + std::string(ntp::to_string(inner.error())));
            for (auto e : inner->fields)
                if (e.type == kFieldCookie && cookies.size() < kMaxCookies) cookies.emplace_back(e.value.begin(), e.value.end());
            auth_ok = true;
        }
        // anything else outside the encrypted part (an unencrypted cookie too) is not trusted
    }
    if (!uid_ok) return fail("no unique identifier");
    if (!auth_ok) return fail(is_nts_nak(packet, uid) ? "NTS NAK (kiss code NTSN)" : "no authenticator");
    if (cookies.empty()) return fail("no cookie in the response");
    return cookies;
}

bool is_nts_nak(std::span<const std::byte> packet, std::span<const std::byte> uid) {
    if (packet.size() < kHeaderSize || packet[1] != std::byte{0}) return false;
    std::uint32_t refid = (std::to_integer<std::uint32_t>(packet[12]) << 24) | (std::to_integer<std::uint32_t>(packet[13]) << 16) |
                          (std::to_integer<std::uint32_t>(packet[14]) << 8) | std::to_integer<std::uint32_t>(packet[15]);
    if (refid != kKissNtsNak) return false;
    auto fields = fields_of(packet);
    if (!fields) return false;
    auto u = fields->find(kFieldUniqueIdentifier);
    return u && u->value.size() == uid.size() && std::equal(uid.begin(), uid.end(), u->value.begin());
}

Expected<ClientRequest, RequestRefusal> read_client_request(Siv& siv, const CookieKeys& keys,
                                                            std::span<const std::byte> packet) {
    auto refuse = [](bool nts, bool nak, std::string what) { return Unexpected<RequestRefusal>{RequestRefusal{nts, nak, std::move(what), {}}}; };
    auto fields = fields_of(packet);
    if (!fields) return refuse(false, false, fields.error().what);
    std::span<const std::byte> uid, cookie;
    std::optional<ntp::ExtensionField> auth;
    int cookies = 0, uids = 0;
    std::size_t cookie_len = 0;
    bool saw_cookie = false;
    for (auto f : *fields) {
        switch (f.type) {
        case kFieldUniqueIdentifier:
            uid = f.value;
            ++uids;
            break;
        case kFieldCookie:
            if (saw_cookie) return refuse(true, false, "more than one cookie");
            saw_cookie = true;
            cookie = f.value;
            [[fallthrough]];
        case kFieldCookiePlaceholder:
            if (cookies > 0 && f.value.size() != cookie_len) return refuse(true, false, "cookie and placeholders differ in length");
            cookie_len = f.value.size();
            ++cookies;
            break;
        case kFieldAuthenticator:
            if (field_end(packet, f) != packet.size()) return refuse(true, false, "authenticator is not the last field");
            auth = f;
            break;
        default: break;  // unknown fields are ignored
        }
    }
    if (uids == 0 && !saw_cookie && !auth) return refuse(false, false, "no NTS fields");
    if (uids != 1 || uid.size() < kUniqueIdSize) return refuse(true, false, "no unique identifier of 32 octets or more");
    if (!saw_cookie) return refuse(true, false, "no cookie");
    if (!auth) return refuse(true, false, "no authenticator");

    auto nak = [&](std::string what) {
        RequestRefusal r{true, true, std::move(what), {}};
        r.uid.assign(uid.begin(), uid.end());
        return Unexpected<RequestRefusal>{std::move(r)};
    };
    auto session = open_cookie(siv, keys, cookie);
    if (!session) return nak("cookie: " + session.error().what);
    // Both client keys set up at once; forgotten when the request is refused here, or after the
    // response (write_server_response).
    siv.prepare(session->aead(), session->c2s(), session->s2c());
    KeysForgottenUnlessKept guard{siv, *session};
    auto o = open_authenticator(siv, session->aead(), session->c2s(), packet, offset_of(packet, *auth), auth->value);
    if (!o) return nak("authenticator: " + o.error().what);
    auto inner = ntp::split_extensions(o->plaintext, ntp::ExtensionRules::Nts);
    if (!inner) return refuse(true, false, "encrypted fields: " + std::string(ntp::to_string(inner.error())));
    for (auto e : inner->fields) {
        if (e.type != kFieldCookiePlaceholder) continue;
        if (e.value.size() != cookie_len) return refuse(true, false, "cookie and placeholders differ in length");
        ++cookies;
    }
    guard.keep = true;
    ClientRequest req;
    req.keys = *session;
    req.uid.assign(uid.begin(), uid.end());
    req.cookie_size = cookie_len;
    req.cookies_wanted = std::min(cookies, kMaxCookies);
    return req;
}

Result<std::size_t> write_server_response(Siv& siv, const ClientRequest& req, std::span<const Cookie> cookies,
                                          std::span<std::byte> out, std::size_t request_size) {
    std::size_t at = put_field(out, kHeaderSize, kFieldUniqueIdentifier, req.uid);
    if (!at) return fail("packet buffer too small", EX_SOFTWARE);
    // The cookie fields to encrypt, on the stack: this runs once per response. 8 of our largest
    // cookies (AES-SIV-CMAC-512 keys: 168 octets) take 1376 octets.
    std::array<std::byte, 2048> plain;
    std::size_t p = 0;
    for (const auto& c : cookies) {
        p = put_field(plain, p, kFieldCookie, c);
        if (!p) return fail("cookies too long", EX_SOFTWARE);
    }
    const std::size_t min_auth = request_size > at ? request_size - at : 0;
    auto end = put_authenticator(siv, req.keys.aead(), req.keys.s2c(), std::span(plain).first(p), out, at, min_auth);
    crypto::secure_zero(std::span(plain).first(p));
    forget_keys(siv, req.keys);
    if (!end) return end;
    if (*end > request_size) return fail("response of " + std::to_string(*end) + " octets would exceed the request's " +
                                         std::to_string(request_size), EX_SOFTWARE);
    return end;
}

Result<std::size_t> write_nak(std::span<const std::byte> uid, std::span<std::byte> out) {
    std::size_t at = put_field(out, kHeaderSize, kFieldUniqueIdentifier, uid);
    if (!at) return fail("packet buffer too small", EX_SOFTWARE);
    return at;
}

}  // namespace timepipe::nts
