#include "libtime/roughtime/client.hpp"

#include <algorithm>

#include "libtime/roughtime/merkle.hpp"
#include "libtime/base/bytes.hpp"

namespace timepipe::roughtime {
namespace {

bool equal(std::span<const std::byte> a, std::span<const std::byte> b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

bool offers_google(std::span<const Version> versions) {
    return std::find(versions.begin(), versions.end(), Version::Google) != versions.end();
}

// What a request offered, read back from its bytes.
struct ParsedRequest {
    std::span<const std::byte> packet;  // as sent, frame included
    std::span<const std::byte> nonce;
    std::array<Version, 8> offered{};
    std::size_t offered_count = 0;
    bool offers(Version v) const {
        return std::find(offered.begin(), offered.begin() + static_cast<std::ptrdiff_t>(offered_count), v) !=
               offered.begin() + static_cast<std::ptrdiff_t>(offered_count);
    }
};

std::optional<ParsedRequest> parse_own_request(std::span<const std::byte> request) {
    ParsedRequest r;
    r.packet = request;
    if (!is_framed(request)) {
        auto m = parse_message(request);
        if (!m) return std::nullopt;
        auto nonce = m->find(tag::NONC);
        if (!nonce || nonce->size() != traits(Version::Google).nonce_size) return std::nullopt;
        r.nonce = *nonce;
        r.offered[r.offered_count++] = Version::Google;
        return r;
    }
    auto body = unframe(request);
    if (!body) return std::nullopt;
    auto m = parse_message(*body);
    if (!m) return std::nullopt;
    auto nonce = m->find(tag::NONC);
    auto ver = m->find(tag::VER);
    if (!nonce || nonce->size() != 32 || !ver || ver->empty() || ver->size() % 4 != 0) return std::nullopt;
    r.nonce = *nonce;
    for (std::size_t i = 0; i < ver->size(); i += 4) {
        auto v = version_from_wire(load_le32(ver->subspan(i)));
        if (v && !r.offers(*v) && r.offered_count < r.offered.size()) r.offered[r.offered_count++] = *v;
    }
    if (r.offered_count == 0) return std::nullopt;
    return r;
}

}  // namespace

std::string_view to_string(RequestError e) {
    switch (e) {
    case RequestError::NoVersions: return "no version offered";
    case RequestError::GoogleWithIetf: return "Google-Roughtime cannot be offered with IETF versions";
    case RequestError::BadNonceLength: return "nonce length does not fit the versions offered";
    case RequestError::BufferTooSmall: return "buffer too small";
    }
    return "unknown request error";
}

std::string_view to_string(VerifyError e) {
    switch (e) {
    case VerifyError::BadRequest: return "request";
    case VerifyError::Malformed: return "malformed response";
    case VerifyError::Version: return "version";
    case VerifyError::Type: return "TYPE";
    case VerifyError::Nonce: return "nonce";
    case VerifyError::DeleSignature: return "DELE signature";
    case VerifyError::SrepSignature: return "SREP signature";
    case VerifyError::MidpointOutsideDelegation: return "MIDP outside MINT..MAXT";
    case VerifyError::Index: return "INDX";
    case VerifyError::MerklePath: return "Merkle path";
    }
    return "unknown verify error";
}

std::string_view failure_text(VerifyError e) {
    switch (e) {
    case VerifyError::BadRequest: return "request does not parse";
    case VerifyError::Malformed: return "malformed response";
    case VerifyError::Version: return "response version was not offered, or not the newest shared";
    case VerifyError::Type: return "TYPE is not a response";
    case VerifyError::Nonce: return "NONC does not echo the request";
    case VerifyError::DeleSignature: return "DELE signature does not verify";
    case VerifyError::SrepSignature: return "SREP signature does not verify";
    case VerifyError::MidpointOutsideDelegation: return "MIDP outside the delegation's MINT..MAXT";
    case VerifyError::Index: return "INDX does not fit PATH";
    case VerifyError::MerklePath: return "Merkle path does not lead to ROOT";
    }
    return "response does not verify";
}

std::size_t nonce_size(std::span<const Version> versions) {
    return !versions.empty() && offers_google(versions) && versions.size() == 1 ? traits(Version::Google).nonce_size
                                                                                : std::size_t{32};
}

std::array<std::byte, 32> srv_value(std::span<const std::byte, crypto::kEd25519PublicKeySize> long_term_key) {
    static constexpr std::array<std::byte, 1> kSrvPrefix{std::byte{0xff}};
    const auto d = crypto::sha512(kSrvPrefix, long_term_key);
    std::array<std::byte, 32> out{};
    std::copy_n(d.begin(), out.size(), out.begin());
    return out;
}

Expected<std::size_t, RequestError> build_request(const RequestParams& p, std::span<std::byte> out) {
    if (p.versions.empty()) return unexpected(RequestError::NoVersions);
    const bool google = offers_google(p.versions);
    if (google && std::any_of(p.versions.begin(), p.versions.end(), [](Version v) { return v != Version::Google; }))
        return unexpected(RequestError::GoogleWithIetf);
    if (p.nonce.size() != nonce_size(p.versions)) return unexpected(RequestError::BadNonceLength);

    MessageBuilder b;
    b.add(tag::NONC, p.nonce);
    std::array<std::byte, 4 * 8> ver_list{};
    std::array<std::byte, 32> srv{};
    std::size_t frame = 0;
    Tag padding = traits(Version::Google).padding_tag;
    if (!google) {
        const std::size_t n = write_version_list(p.versions, ver_list);
        b.add(tag::VER, std::span<const std::byte>(ver_list).first(n));
        bool want_srv = false, want_type = false, message_is_1024 = false;
        for (Version v : p.versions) {
            const auto& t = traits(v);
            want_srv = want_srv || t.has_srv;
            want_type = want_type || t.sends_type;
            message_is_1024 = message_is_1024 || !t.request_size_counts_frame;
            padding = t.padding_tag;  // ZZZZ for every IETF version
        }
        if (want_srv && p.server_key) {
            srv = srv_value(*p.server_key);
            b.add(tag::SRV, srv);
        }
        if (want_type) b.add_u32(tag::TYPE, 0);  // 0 = request (RFC 10049 §5.1.4)
        frame = message_is_1024 ? 0 : kFrameHeaderSize;
    }
    // Pad so the packet reaches kMinRequestSize: the padding tag adds 8 header octets itself.
    const std::size_t without_pad = b.encoded_size() + 8;
    const std::size_t target = kMinRequestSize - frame;
    b.add_zeros(padding, target > without_pad ? target - without_pad : 0);

    auto n = google ? b.write(out) : b.write_framed(out);
    if (!n) return unexpected(RequestError::BufferTooSmall);
    return *n;
}

Expected<std::vector<std::byte>, RequestError> make_request(const RequestParams& params) {
    std::vector<std::byte> out(kMaxRequestSize);
    auto n = build_request(params, out);
    if (!n) return unexpected(n.error());
    out.resize(*n);
    return out;
}

Expected<VerifiedTime, VerifyError> verify_response(std::span<const std::byte> request,
                                                    std::span<const std::byte> response,
                                                    std::span<const std::byte, crypto::kEd25519PublicKeySize> long_term_key) {
    const auto req = parse_own_request(request);
    if (!req) return unexpected(VerifyError::BadRequest);
    const bool google = req->offers(Version::Google);

    // Framing must match the request's: a Google request gets an unframed answer.
    std::span<const std::byte> body = response;
    if (!google) {
        auto b = unframe(response);
        if (!b) return unexpected(VerifyError::Malformed);
        body = *b;
    }
    auto resp = parse_message(body);
    if (!resp) return unexpected(VerifyError::Malformed);
    auto srep = resp->message(tag::SREP);
    if (!srep) return unexpected(VerifyError::Malformed);

    // --- version: which one did the server pick, and was it ours to pick? ---
    Version version = Version::Google;
    if (!google) {
        // From draft 12 VER sits inside the signed SREP; before, at the top level.
        const bool in_srep = srep->contains(tag::VER);
        const auto ver = in_srep ? srep->u32(tag::VER) : resp->u32(tag::VER);
        if (!ver) return unexpected(VerifyError::Version);
        const auto v = version_from_wire(*ver);
        if (!v || !req->offers(*v) || traits(*v).ver_in_srep != in_srep) return unexpected(VerifyError::Version);
        version = *v;
        if (traits(version).ver_in_srep) {
            // Downgrade check (RFC 10049 §5.2.4): VERS lists what the server speaks; the version
            // chosen must be the newest that both sides share.
            auto vers = srep->find(tag::VERS);
            if (!vers) return unexpected(VerifyError::Version);
            auto best = negotiate(*vers, std::span<const Version>(req->offered).first(req->offered_count));
            if (!best || *best != version) return unexpected(VerifyError::Version);
        }
    }
    const VersionTraits& t = traits(version);

    if (t.sends_type) {
        const auto type = resp->u32(tag::TYPE);
        if (resp->contains(tag::TYPE) && type != 1u) return unexpected(VerifyError::Type);
        if (!type && t.requires_type) return unexpected(VerifyError::Type);
    }
    if (auto nonce = resp->find(tag::NONC)) {
        if (!equal(*nonce, req->nonce)) return unexpected(VerifyError::Nonce);
    } else if (t.requires_nonce_echo) {
        return unexpected(VerifyError::Nonce);
    }

    // --- the delegation, under the long-term key ---
    auto cert = resp->message(tag::CERT);
    if (!cert) return unexpected(VerifyError::Malformed);
    const auto cert_sig = cert->find(tag::SIG);
    const auto dele_bytes = cert->find(tag::DELE);
    if (!cert_sig || cert_sig->size() != crypto::kEd25519SignatureSize || !dele_bytes)
        return unexpected(VerifyError::Malformed);
    if (!crypto::ed25519_verify(long_term_key, bytes_of(t.delegation_context), *dele_bytes,
                                cert_sig->first<crypto::kEd25519SignatureSize>()))
        return unexpected(VerifyError::DeleSignature);
    auto dele = cert->message(tag::DELE);
    if (!dele) return unexpected(VerifyError::Malformed);
    const auto pubk = dele->find(tag::PUBK);
    const auto mint = dele->u64(tag::MINT);
    const auto maxt = dele->u64(tag::MAXT);
    if (!pubk || pubk->size() != crypto::kEd25519PublicKeySize || !mint || !maxt)
        return unexpected(VerifyError::Malformed);

    // --- the signed response, under the delegated key ---
    const auto sig = resp->find(tag::SIG);
    if (!sig || sig->size() != crypto::kEd25519SignatureSize) return unexpected(VerifyError::Malformed);
    if (!crypto::ed25519_verify(pubk->first<crypto::kEd25519PublicKeySize>(), bytes_of(t.response_context),
                                srep->bytes(), sig->first<crypto::kEd25519SignatureSize>()))
        return unexpected(VerifyError::SrepSignature);
    const auto root = srep->find(tag::ROOT);
    const auto midp = srep->u64(tag::MIDP);
    const auto radi = srep->u32(tag::RADI);
    if (!root || root->size() != t.hash_size || !midp || !radi) return unexpected(VerifyError::Malformed);
    if (*midp < *mint || *midp > *maxt) return unexpected(VerifyError::MidpointOutsideDelegation);

    // --- the Merkle proof that this request was in the signed batch ---
    const auto indx = resp->u32(tag::INDX);
    const auto path = resp->find(tag::PATH);
    if (!indx || !path) return unexpected(VerifyError::Malformed);
    const Hash leaf = leaf_hash(t.leaf_is_request ? req->packet : req->nonce, t.hash_size);
    auto computed = root_from_path(leaf, *path, *indx);
    if (!computed) return unexpected(computed.error() == PathError::Index ? VerifyError::Index : VerifyError::MerklePath);
    if (!equal(computed->span(), *root)) return unexpected(VerifyError::MerklePath);

    VerifiedTime out;
    out.midpoint = timestamp_to_nanos(*midp, t.time_unit);
    out.radius_ns = radius_to_nanos(*radi, t.time_unit);
    out.version = version;
    out.mint = timestamp_to_nanos(*mint, t.time_unit);
    out.maxt = timestamp_to_nanos(*maxt, t.time_unit);
    std::copy_n(pubk->begin(), out.online_key.size(), out.online_key.begin());
    out.response.assign(response.begin(), response.end());
    return out;
}

}  // namespace timepipe::roughtime
