#include "libtime/roughtime/responder.hpp"

#include <algorithm>

#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/message.hpp"
#include "libtime/base/bytes.hpp"

namespace timepipe::roughtime {
namespace {

std::size_t index_of(Version v) {
    const auto all = all_versions();
    for (std::size_t i = 0; i < all.size(); ++i)
        if (all[i].version == v) return i;
    return 0;
}

constexpr std::size_t kNoReply = static_cast<std::size_t>(-1);

}  // namespace

std::string_view to_string(DropReason r) {
    switch (r) {
    case DropReason::TooShort: return "request too short";
    case DropReason::Malformed: return "malformed request";
    case DropReason::UnknownVersion: return "no common version";
    case DropReason::SrvMismatch: return "SRV names another key";
    case DropReason::TooLarge: return "response would exceed the request";
    }
    return "unknown drop reason";
}

std::span<const std::byte> Delegation::cert_for(Version v) const { return certs[index_of(v)]; }

Delegation make_delegation(const crypto::Ed25519KeyPair& long_term, const crypto::PublicKey& online_key,
                           UnixNanos mint, UnixNanos maxt) {
    Delegation d;
    d.long_term_key = long_term.public_key;
    d.online_key = online_key;
    d.mint = mint;
    d.maxt = maxt;
    d.srv = srv_value(long_term.public_key);
    const auto all = all_versions();
    for (std::size_t i = 0; i < all.size(); ++i) {
        const VersionTraits& t = all[i];
        MessageBuilder dele;
        dele.add(tag::PUBK, online_key)
            .add_u64(tag::MINT, nanos_to_timestamp(mint, t.time_unit))
            .add_u64(tag::MAXT, nanos_to_timestamp(maxt, t.time_unit));
        const auto dele_bytes = dele.to_vector();
        const auto sig = crypto::ed25519_sign(long_term.secret_key, bytes_of(t.delegation_context), dele_bytes);
        MessageBuilder cert;
        cert.add(tag::SIG, sig).add(tag::DELE, dele_bytes);
        d.certs[i] = cert.to_vector();
    }
    return d;
}

Responder::Responder(Delegation delegation, crypto::Ed25519KeyPair online_key, std::span<const Version> supported)
    : delegation_(std::move(delegation)), online_(std::move(online_key)) {
    for (const auto& t : all_versions()) {
        const bool on = supported.empty() || std::find(supported.begin(), supported.end(), t.version) != supported.end();
        if (on) supported_[supported_count_++] = t.version;
    }
    vers_size_ = write_version_list(std::span<const Version>(supported_).first(supported_count_), vers_value_);
}

std::optional<DropReason> Responder::parse_request(std::span<const std::byte> packet, Pending& out) const {
    if (packet.size() < kMinRequestSize) return DropReason::TooShort;
    const auto supported = std::span<const Version>(supported_).first(supported_count_);
    std::span<const std::byte> body = packet;
    Version version = Version::Google;
    if (is_framed(packet)) {
        auto b = unframe(packet);
        if (!b) return DropReason::Malformed;
        body = *b;
    }
    auto m = parse_message(body);
    if (!m) return DropReason::Malformed;
    if (is_framed(packet)) {
        auto ver = m->find(tag::VER);
        if (!ver) return DropReason::Malformed;
        auto v = negotiate(*ver, supported);
        if (!v) return v.error() == NegotiateError::Malformed ? DropReason::Malformed : DropReason::UnknownVersion;
        version = *v;
    } else if (std::find(supported.begin(), supported.end(), Version::Google) == supported.end()) {
        return DropReason::UnknownVersion;
    }
    const VersionTraits& t = traits(version);
    auto nonce = m->find(tag::NONC);
    if (!nonce || nonce->size() != t.nonce_size) return DropReason::Malformed;
    if (t.sends_type && m->contains(tag::TYPE) && m->u32(tag::TYPE) != 0u) return DropReason::Malformed;
    if (t.has_srv) {
        if (auto srv = m->find(tag::SRV)) {
            if (srv->size() != delegation_.srv.size() || !std::equal(srv->begin(), srv->end(), delegation_.srv.begin()))
                return DropReason::SrvMismatch;
        }
    }
    out = Pending{packet, *nonce, version};
    return std::nullopt;
}

std::span<const Reply> Responder::respond(std::span<const std::span<const std::byte>> requests, UnixNanos now,
                                          std::int64_t radius_ns) {
    replies_.assign(requests.size(), Reply{});
    reply_offsets_.assign(requests.size(), kNoReply);
    arena_.clear();
    for (std::size_t first = 0; first < requests.size(); first += kMaxBatch)
        answer_chunk(requests.subspan(first, std::min(kMaxBatch, requests.size() - first)), first, now, radius_ns);
    // The arena is complete: only now can spans into it be handed out.
    for (std::size_t i = 0; i < replies_.size(); ++i) {
        if (reply_offsets_[i] == kNoReply) continue;
        replies_[i].bytes = std::span<const std::byte>(arena_).subspan(reply_offsets_[i], replies_[i].bytes.size());
    }
    return replies_;
}

void Responder::answer_chunk(std::span<const std::span<const std::byte>> requests, std::size_t first, UnixNanos now,
                             std::int64_t radius_ns) {
    pending_.assign(requests.size(), Pending{});
    for (std::size_t i = 0; i < requests.size(); ++i) {
        if (auto drop = parse_request(requests[i], pending_[i])) replies_[first + i].dropped = drop;
    }
    // One tree and one signature per version present in the chunk.
    for (std::size_t vi = 0; vi < supported_count_; ++vi) {
        const Version version = supported_[vi];
        const VersionTraits& t = traits(version);
        tree_.reset(t.hash_size);
        for (std::size_t i = 0; i < requests.size(); ++i) {
            if (replies_[first + i].dropped || pending_[i].version != version) continue;
            tree_.add_leaf(t.leaf_is_request ? pending_[i].packet : pending_[i].nonce);
        }
        if (tree_.leaves() == 0) continue;
        tree_.finish();

        MessageBuilder srep;
        srep.add(tag::ROOT, tree_.root().span())
            .add_u64(tag::MIDP, nanos_to_timestamp(now, t.time_unit))
            .add_u32(tag::RADI, nanos_to_radius(radius_ns, t.time_unit));
        if (t.ver_in_srep) {
            // VER and VERS are signed from draft 12 on, so a client can detect a downgrade.
            srep.add_u32(tag::VER, to_wire(version)).add(tag::VERS, std::span<const std::byte>(vers_value_).first(vers_size_));
        }
        std::array<std::byte, 256> srep_bytes{};
        const auto srep_n = srep.write(srep_bytes);
        if (!srep_n) continue;  // cannot happen: SREP is at most ~130 octets
        const auto srep_span = std::span<const std::byte>(srep_bytes).first(*srep_n);
        const auto sig = crypto::ed25519_sign(online_.secret_key, bytes_of(t.response_context), srep_span);
        const auto cert = delegation_.cert_for(version);

        std::array<std::byte, kMaxPathLength * kMaxHashSize> path{};
        std::size_t leaf = 0;
        for (std::size_t i = 0; i < requests.size(); ++i) {
            Reply& rep = replies_[first + i];
            if (rep.dropped || pending_[i].version != version) continue;
            const std::size_t path_n = tree_.path(leaf, path);
            MessageBuilder b;
            b.add(tag::SIG, sig)
                .add(tag::NONC, pending_[i].nonce)
                .add(tag::PATH, std::span<const std::byte>(path).first(path_n))
                .add(tag::SREP, srep_span)
                .add(tag::CERT, cert)
                .add_u32(tag::INDX, static_cast<std::uint32_t>(leaf));
            if (t.sends_type) b.add_u32(tag::TYPE, 1);  // 1 = response (RFC 10049 §5.2)
            if (t.sends_ver && !t.ver_in_srep) b.add_u32(tag::VER, to_wire(version));
            ++leaf;
            const std::size_t size = b.encoded_size() + (t.framed ? kFrameHeaderSize : 0);
            if (size > pending_[i].packet.size()) {
                rep.dropped = DropReason::TooLarge;
                continue;
            }
            const std::size_t at = arena_.size();
            arena_.resize(at + size);
            const auto out = std::span<std::byte>(arena_).subspan(at, size);
            const auto n = t.framed ? b.write_framed(out) : b.write(out);
            if (!n) {
                arena_.resize(at);
                rep.dropped = DropReason::TooLarge;
                continue;
            }
            reply_offsets_[first + i] = at;
            rep.version = version;
            // Only the length counts for now: respond() rebases the span once the arena stops moving.
            rep.bytes = std::span<const std::byte>(arena_.data(), size);
        }
    }
}

}  // namespace timepipe::roughtime
