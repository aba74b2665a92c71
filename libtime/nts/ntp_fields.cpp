#include "libtime/nts/ntp_fields.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <sysexits.h>

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

// The authenticator field at out[at): its header and a fresh nonce written, the rest zero, room
// for SIV ‖ ciphertext of `plaintext_size` octets; padded to at least `min_size` octets.
struct AuthenticatorSlot {
    std::size_t end;                // the field's end
    std::span<const std::byte> ad;  // out[0..at): the associated data
    std::span<const std::byte> nonce;
    std::span<std::byte> sealed;    // SIV ‖ ciphertext goes here
};
Result<AuthenticatorSlot> authenticator_slot(Siv& siv, std::span<std::byte> out, std::size_t at,
                                             std::size_t plaintext_size, std::size_t min_size = 0) {
    const std::size_t ciphertext = kSivTagSize + plaintext_size;
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
    return AuthenticatorSlot{at + len, out.first(at), nonce, out.subspan(at + 8 + padded(kNonceSize), ciphertext)};
}

// The nonce and SIV ‖ ciphertext of an authenticator field's value, checked against its length.
struct AuthenticatorParts {
    std::span<const std::byte> nonce, sealed;
};
Result<AuthenticatorParts> authenticator_parts(std::span<const std::byte> body) {
    if (body.size() < kAuthHeadSize) return fail("authenticator too short");
    const std::size_t nonce_len = be16(body, 0);
    const std::size_t ct_len = be16(body, 2);
    if (nonce_len < 1 || ct_len < kSivTagSize) return fail("authenticator: bad nonce or ciphertext length");
    if (kAuthHeadSize + padded(nonce_len) + padded(ct_len) > body.size()) return fail("authenticator: lengths past its end");
    // §5.6: a nonce shorter than 16 octets must be padded to that length
    if (kAuthHeadSize + std::max(padded(nonce_len), kNonceSize) + padded(ct_len) > body.size())
        return fail("authenticator: short nonce without padding");
    return AuthenticatorParts{body.subspan(kAuthHeadSize, nonce_len), body.subspan(kAuthHeadSize + padded(nonce_len), ct_len)};
}

struct Opened {
    std::vector<std::byte> plaintext;
};

// Opens the authenticator whose field starts at `at` in `packet`: associated data packet[0..at).
Result<Opened> open_authenticator(Siv& siv, AeadAlgorithm a, std::span<const std::byte> key,
                                  std::span<const std::byte> packet, std::size_t at, std::span<const std::byte> body) {
    auto parts = authenticator_parts(body);
    if (!parts) return Unexpected<Error>{parts.error()};
    Opened o;
    o.plaintext.resize(parts->sealed.size() - kSivTagSize);
    auto n = siv.open(a, key, parts->nonce, packet.first(at), parts->sealed, o.plaintext);
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
    auto slot = authenticator_slot(siv, out, at, 0);
    if (!slot) return Unexpected<Error>{slot.error()};
    auto sealed = siv.seal(keys.aead(), keys.c2s(), slot->nonce, slot->ad, {}, slot->sealed);
    if (!sealed) return Unexpected<Error>{sealed.error()};
    return slot->end;
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

// --- server ------------------------------------------------------------------------------

namespace {

using Verdict = ServerExchange::Verdict;

// Sets x's verdict to `v`, saying why; false, for `return refuse(...)` in a check.
bool refuse(ServerExchange& x, Verdict v, std::string what) {
    x.verdict = v;
    x.what = std::move(what);
    return false;
}

}  // namespace

struct NtsServer::Impl {
    // Where an NTS request keeps its fields (no crypto yet), or what to do with it instead.
    struct RequestFields {
        std::span<const std::byte> uid, cookie;
        std::size_t cookie_len = 0;
        int cookies = 0;         // cookie + placeholders in the clear
        std::size_t auth_at = 0; // the authenticator's offset: the associated data ends there
        std::span<const std::byte> auth_value;
        std::span<const std::byte> auth_nonce, auth_sealed;  // its parts, once checked
    };

    // A master key set up, found by its id and octets (a new key file brings new ones).
    struct Master {
        std::uint32_t id = 0;
        crypto::SecretBytes<kMasterKeySize> bytes;
        SivKey key;
    };

    // One request in the works.
    struct Request {
        ServerExchange* x = nullptr;
        RequestFields fields;
        std::array<std::byte, kMaxCookiePlaintext> session{};  // the cookie's plaintext: AEAD ‖ 0 ‖ C2S ‖ S2C
        std::size_t session_size = 0;
        SivKey c2s, s2c;
        std::vector<std::byte> inner;  // the request's encrypted fields, opened (capacity kept)
        std::array<std::byte, kMaxCookies * (ntp::kFieldHeaderSize + kMaxCookieSize)> cookies{};  // the response's plaintext
        std::size_t cookies_size = 0;
        std::array<std::array<std::span<const std::byte>, 2>, kMaxCookies> cookie_headers;
        std::array<std::span<const std::byte>, 2> headers;  // the job at hand's: AD, nonce
        std::size_t first_job = 0, jobs = 0;  // its jobs in the step at hand
        std::size_t end = 0;                  // the response's length, once sealed
        bool live = false;

        ~Request() { wipe(); }
        void wipe() {
            crypto::secure_zero(std::span(session).first(session_size));
            crypto::secure_zero(std::span(cookies).first(cookies_size));
            if (!inner.empty()) crypto::secure_zero(std::span(inner));
            session_size = cookies_size = 0;
            inner.clear();
        }
    };

    static bool find_fields(ServerExchange& x, RequestFields& r) {
        const auto packet = x.request;
        auto fields = fields_of(packet);
        if (!fields) return refuse(x, Verdict::plain, fields.error().what);
        std::optional<ntp::ExtensionField> auth;
        int uids = 0;
        bool saw_cookie = false;
        for (auto f : *fields) {
            switch (f.type) {
            case kFieldUniqueIdentifier:
                r.uid = f.value;
                ++uids;
                break;
            case kFieldCookie:
                if (saw_cookie) return refuse(x, Verdict::dropped, "more than one cookie");
                saw_cookie = true;
                r.cookie = f.value;
                [[fallthrough]];
            case kFieldCookiePlaceholder:
                if (r.cookies > 0 && f.value.size() != r.cookie_len)
                    return refuse(x, Verdict::dropped, "cookie and placeholders differ in length");
                r.cookie_len = f.value.size();
                ++r.cookies;
                break;
            case kFieldAuthenticator:
                if (field_end(packet, f) != packet.size()) return refuse(x, Verdict::dropped, "authenticator is not the last field");
                auth = f;
                break;
            default: break;  // unknown fields are ignored
            }
        }
        if (uids == 0 && !saw_cookie && !auth) return refuse(x, Verdict::plain, "no NTS fields");
        if (uids != 1 || r.uid.size() < kUniqueIdSize) return refuse(x, Verdict::dropped, "no unique identifier of 32 octets or more");
        if (!saw_cookie) return refuse(x, Verdict::dropped, "no cookie");
        if (!auth) return refuse(x, Verdict::dropped, "no authenticator");
        x.uid = r.uid;  // from here on a refusal is a NAK, which carries it
        r.auth_at = offset_of(packet, *auth);
        r.auth_value = auth->value;
        return true;
    }

    Siv siv;
    std::vector<std::unique_ptr<Master>> masters;
    std::vector<std::unique_ptr<Request>> requests;  // as many as the largest batch checked
    std::vector<Siv::Job> jobs;

    SivKey& master_for(const CookieKey& k) {
        for (auto& m : masters)
            if (m->id == k.id && crypto::same_secret(m->bytes.span(), k.key.span()))
                return m->key;
        auto m = std::make_unique<Master>();
        m->id = k.id;
        std::copy(k.key.span().begin(), k.key.span().end(), m->bytes.span().begin());
        m->key.set(AeadAlgorithm::aes_siv_cmac_256, k.key.span());
        masters.push_back(std::move(m));
        return masters.back()->key;
    }

    Siv::Job& add_job(Request& r) {
        if (r.jobs++ == 0) r.first_job = jobs.size();
        jobs.emplace_back();
        return jobs.back();
    }
    // The first of r's jobs that failed, if any.
    const Error* failure(const Request& r) const {
        for (std::size_t i = r.first_job; i < r.first_job + r.jobs; ++i)
            if (!jobs[i].result) return &jobs[i].result.error();
        return nullptr;
    }
    void run_step() {
        siv.run(jobs);
    }
    void next_step() {
        jobs.clear();
        for (auto& r : requests) r->jobs = 0;
    }
    void stop(Request& r, Verdict v, std::string what) {
        refuse(*r.x, v, std::move(what));
        r.live = false;
        r.wipe();
    }

    void check(const CookieKeys& keys, std::span<ServerExchange> batch) {
        while (requests.size() < batch.size()) requests.push_back(std::make_unique<Request>());
        if (masters.size() > keys.keys.size())  // keys gone from the file (never while a batch is in the works)
            std::erase_if(masters, [&](const auto& m) {
                const CookieKey* k = keys.find(m->id);
                return !k || !crypto::same_secret(m->bytes.span(), k->key.span());
            });
        SivKey* current = keys.empty() ? nullptr : &master_for(keys.current());
        auto live = [&](auto&& f) {  // f(request) for each request still in the works
            for (std::size_t i = 0; i < batch.size(); ++i)
                if (requests[i]->live) f(*requests[i]);
        };

        // 1. Fields found, cookies opened with the keys they name.
        next_step();
        for (std::size_t i = 0; i < batch.size(); ++i) {
            Request& r = *requests[i];
            r.wipe();
            r.x = &batch[i];
            r.x->slot = i;
            r.x->verdict = Verdict::plain;
            r.x->what.clear();
            r.x->uid = {};
            r.x->length = 0;
            r.x->cookies = 0;
            r.fields = RequestFields{};
            r.end = 0;
            r.live = find_fields(*r.x, r.fields);
            if (!r.live) continue;
            auto key = cookie_key_of(keys, r.fields.cookie);
            if (!key) {
                stop(r, Verdict::nak, "cookie: " + key.error().what);
                continue;
            }
            r.headers = cookie_headers(r.fields.cookie);
            Siv::Job& j = add_job(r);
            j.seal = false;
            j.key = &master_for(**key);
            j.headers = r.headers;
            j.in = r.fields.cookie.subspan(kCookieHeadSize);
            j.out = r.session;
        }
        run_step();

        // 2. The client's keys from its cookie; its authenticator checked with C2S.
        live([&](Request& r) {
            const Siv::Job& opened = jobs[r.first_job];
            if (!opened.result) return stop(r, Verdict::nak, "cookie: " + opened.result.error().what);
            r.session_size = *opened.result;
            auto aead = cookie_session_aead(std::span(r.session).first(r.session_size));
            if (!aead) return stop(r, Verdict::nak, "cookie: " + aead.error().what);
            auto parts = authenticator_parts(r.fields.auth_value);
            if (!parts) return stop(r, Verdict::nak, "authenticator: " + parts.error().what);
            r.fields.auth_nonce = parts->nonce;
            r.fields.auth_sealed = parts->sealed;
            const std::size_t n = aead_key_size(*aead);
            r.c2s.set(*aead, std::span(r.session).subspan(4, n));
            r.s2c.set(*aead, std::span(r.session).subspan(4 + n, n));
        });
        next_step();
        live([&](Request& r) {
            r.inner.resize(r.fields.auth_sealed.size() - kSivTagSize);
            r.headers = {r.x->request.first(r.fields.auth_at), r.fields.auth_nonce};
            Siv::Job& j = add_job(r);
            j.seal = false;
            j.key = &r.c2s;
            j.headers = r.headers;
            j.in = r.fields.auth_sealed;
            j.out = r.inner;
        });
        run_step();

        // 3. Placeholders inside the encrypted part counted; the new cookies sealed (the same
        // session keys under the current master key, each with its own nonce) straight into
        // the cookie fields the response will encrypt.
        live([&](Request& r) {
            if (auto e = failure(r)) return stop(r, Verdict::nak, "authenticator: " + e->what);
            int cookies = r.fields.cookies;
            auto inner = ntp::split_extensions(r.inner, ntp::ExtensionRules::Nts);
            if (!inner) return stop(r, Verdict::dropped, "encrypted fields: " + std::string(ntp::to_string(inner.error())));
            bool bad = false;
            for (auto e : inner->fields) {
                if (e.type != kFieldCookiePlaceholder) continue;
                bad = bad || e.value.size() != r.fields.cookie_len;
                ++cookies;
            }
            if (bad) return stop(r, Verdict::dropped, "cookie and placeholders differ in length");
            if (!current) return stop(r, Verdict::dropped, "no cookie key");
            r.x->cookies = std::min(cookies, kMaxCookies);
        });
        next_step();
        live([&](Request& r) {
            const auto session = std::span<const std::byte>(r.session).first(r.session_size);
            const std::size_t size = kCookieHeadSize + kSivTagSize + r.session_size;
            const std::size_t field = padded(ntp::kFieldHeaderSize + size);
            std::size_t p = 0;
            for (std::size_t i = 0; i < static_cast<std::size_t>(r.x->cookies); ++i, p += field) {
                auto f = std::span(r.cookies).subspan(p, field);
                put16(f, 0, kFieldCookie);
                put16(f, 2, field);
                auto cookie = f.subspan(ntp::kFieldHeaderSize, size);
                write_cookie_head(siv, keys.current().id, cookie);
                r.cookie_headers[i] = cookie_headers(cookie);
                Siv::Job& j = add_job(r);
                j.key = current;
                j.headers = r.cookie_headers[i];
                j.in = session;
                j.out = cookie.subspan(kCookieHeadSize);
            }
            r.cookies_size = p;
        });
        run_step();
        live([&](Request& r) {
            if (auto e = failure(r)) return stop(r, Verdict::dropped, "cookie: " + e->what);
            r.x->verdict = Verdict::answered;  // once its header is written: seal()
        });
    }

    // 4. The response: UID, then the authenticator sealing the cookies under S2C, as long as
    // the request when it would be shorter.
    void seal(std::span<ServerExchange> exchanges) {
        next_step();
        auto each = [&](auto&& f) {  // f(request) for each checked exchange to answer
            for (ServerExchange& x : exchanges)
                if (x.verdict == Verdict::answered && x.slot < requests.size() && requests[x.slot]->x == &x &&
                    requests[x.slot]->live)
                    f(*requests[x.slot]);
        };
        each([&](Request& r) {
            auto out = r.x->reply;
            const std::size_t request_size = r.x->request.size();
            std::size_t at = put_field(out, kHeaderSize, kFieldUniqueIdentifier, r.fields.uid);
            if (!at) return stop(r, Verdict::dropped, "packet buffer too small");
            const std::size_t min_auth = request_size > at ? request_size - at : 0;
            auto slot = authenticator_slot(siv, out, at, r.cookies_size, min_auth);
            if (!slot) return stop(r, Verdict::dropped, slot.error().what);
            if (slot->end > request_size)
                return stop(r, Verdict::dropped, "response of " + std::to_string(slot->end) +
                                                     " octets would exceed the request's " + std::to_string(request_size));
            r.end = slot->end;
            r.headers = {slot->ad, slot->nonce};
            Siv::Job& j = add_job(r);
            j.key = &r.s2c;
            j.headers = r.headers;
            j.in = std::span(r.cookies).first(r.cookies_size);
            j.out = slot->sealed;
        });
        run_step();
        each([&](Request& r) {
            if (auto e = failure(r)) return stop(r, Verdict::dropped, e->what);
            r.x->length = r.end;
            r.live = false;  // done: sealed once
            r.wipe();
        });
    }
};

NtsServer::NtsServer() : impl_(std::make_unique<Impl>()) {}
NtsServer::~NtsServer() = default;
Siv& NtsServer::siv() { return impl_->siv; }
void NtsServer::check(const CookieKeys& keys, std::span<ServerExchange> batch) { impl_->check(keys, batch); }
void NtsServer::seal(std::span<ServerExchange> exchanges) { impl_->seal(exchanges); }
void NtsServer::answer(const CookieKeys& keys, std::span<ServerExchange> batch) {
    impl_->check(keys, batch);
    impl_->seal(batch);
}

Result<std::size_t> write_nak(std::span<const std::byte> uid, std::span<std::byte> out) {
    std::size_t at = put_field(out, kHeaderSize, kFieldUniqueIdentifier, uid);
    if (!at) return fail("packet buffer too small", EX_SOFTWARE);
    return at;
}

}  // namespace timepipe::nts
