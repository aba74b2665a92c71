#include "libtime/roughtime/version.hpp"

#include <array>
#include <limits>

namespace timepipe::roughtime {
namespace {

using namespace std::string_view_literals;

// Drafts up to 11 (and Google-Roughtime) sign DELE after "...signature--\0"; draft 12 dropped the
// dashes (draft-ietf-ntp-roughtime-12 §6.2.5; checked against Cloudflare's and roughenough's
// vectors). The response context never changed.
constexpr std::string_view kOldDelegation = "RoughTime v1 delegation signature--\0"sv;
constexpr std::string_view kNewDelegation = "RoughTime v1 delegation signature\0"sv;
constexpr std::string_view kResponse = "RoughTime v1 response signature\0"sv;

constexpr std::array<VersionTraits, 5> kTable{{
    // RFC 10049: as drafts 12-19, and TYPE is mandatory. Its example requests (draft 19 appendix B)
    // pad the message itself to 1024 octets, the frame coming on top.
    {.version = Version::Rfc, .name = "RFC 10049", .rank = 4,
     .sends_ver = true, .framed = true, .nonce_size = 32, .hash_size = 32,
     .padding_tag = tag::ZZZZ, .request_size_counts_frame = false,
     .delegation_context = kNewDelegation, .response_context = kResponse,
     .leaf_is_request = true, .ver_in_srep = true, .has_srv = true,
     .sends_type = true, .requires_type = true, .requires_nonce_echo = true,
     .time_unit = TimeUnit::Seconds},
    // Drafts 12-19 share 0x8000000c. 12: leaf = whole request packet, VER+VERS inside SREP, context
    // without "--" (all three checked against roughenough's exchange); 14 added TYPE, so a
    // 0x8000000c response may lack it. NONC echoed (roughenough vectors).
    {.version = Version::Draft12, .name = "draft-ietf-ntp-roughtime-12..19", .rank = 3,
     .sends_ver = true, .framed = true, .nonce_size = 32, .hash_size = 32,
     .padding_tag = tag::ZZZZ, .request_size_counts_frame = true,
     .delegation_context = kNewDelegation, .response_context = kResponse,
     .leaf_is_request = true, .ver_in_srep = true, .has_srv = true,
     .sends_type = true, .requires_type = false, .requires_nonce_echo = true,
     .time_unit = TimeUnit::Seconds},
    // Draft 11: as 08 plus SRV (Cloudflare: "first defined in draft-ietf-ntp-roughtime-11";
    // its draft 11 vectors carry SRV = SHA-512(0xff || key)[:32]).
    {.version = Version::Draft11, .name = "draft-ietf-ntp-roughtime-11", .rank = 2,
     .sends_ver = true, .framed = true, .nonce_size = 32, .hash_size = 32,
     .padding_tag = tag::ZZZZ, .request_size_counts_frame = true,
     .delegation_context = kOldDelegation, .response_context = kResponse,
     .leaf_is_request = false, .ver_in_srep = false, .has_srv = true,
     .sends_type = false, .requires_type = false, .requires_nonce_echo = false,
     .time_unit = TimeUnit::Seconds},
    // Draft 08: frame, VER at the top level (unsigned), 32-octet nonce and hashes, ZZZZ, leaf = nonce,
    // times in seconds (Cloudflare vectors: MIDP 50, RADI 5, MAXT 100; 1024-octet datagrams).
    {.version = Version::Draft08, .name = "draft-ietf-ntp-roughtime-08", .rank = 1,
     .sends_ver = true, .framed = true, .nonce_size = 32, .hash_size = 32,
     .padding_tag = tag::ZZZZ, .request_size_counts_frame = true,
     .delegation_context = kOldDelegation, .response_context = kResponse,
     .leaf_is_request = false, .ver_in_srep = false, .has_srv = false,
     .sends_type = false, .requires_type = false, .requires_nonce_echo = false,
     .time_unit = TimeUnit::Seconds},
    // Google-Roughtime (PROTOCOL.md): no frame, no VER, 64-octet nonce, whole SHA-512 in the tree,
    // PAD\xff, microseconds (Cloudflare vectors: MIDP 50e6, RADI 5e6, ROOT 64 octets).
    {.version = Version::Google, .name = "Google-Roughtime", .rank = 0,
     .sends_ver = false, .framed = false, .nonce_size = 64, .hash_size = 64,
     .padding_tag = tag::PAD, .request_size_counts_frame = true,
     .delegation_context = kOldDelegation, .response_context = kResponse,
     .leaf_is_request = false, .ver_in_srep = false, .has_srv = false,
     .sends_type = false, .requires_type = false, .requires_nonce_echo = false,
     .time_unit = TimeUnit::Microseconds},
}};

}  // namespace

std::span<const VersionTraits> all_versions() { return kTable; }

const VersionTraits& traits(Version v) {
    for (const auto& t : kTable)
        if (t.version == v) return t;
    return kTable.back();  // unreachable for a valid enumerator
}

std::string_view to_string(Version v) { return traits(v).name; }

std::optional<Version> version_from_wire(std::uint32_t ver) {
    for (const auto& t : kTable)
        if (t.sends_ver && to_wire(t.version) == ver) return t.version;
    return std::nullopt;
}

std::int64_t timestamp_to_nanos(std::uint64_t value, TimeUnit unit) {
    const std::uint64_t per = unit == TimeUnit::Seconds ? 1'000'000'000u : 1'000u;
    const auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (value > max / per) return std::numeric_limits<std::int64_t>::max();
    return static_cast<std::int64_t>(value * per);
}

std::uint64_t nanos_to_timestamp(std::int64_t ns, TimeUnit unit) {
    if (ns <= 0) return 0;
    const std::int64_t per = unit == TimeUnit::Seconds ? 1'000'000'000 : 1'000;
    return static_cast<std::uint64_t>(ns / per);
}

std::int64_t radius_to_nanos(std::uint32_t value, TimeUnit unit) {
    const std::int64_t per = unit == TimeUnit::Seconds ? 1'000'000'000 : 1'000;
    return std::int64_t{value} * per;
}

std::uint32_t nanos_to_radius(std::int64_t ns, TimeUnit unit) {
    if (ns <= 0) return 0;
    const std::int64_t per = unit == TimeUnit::Seconds ? 1'000'000'000 : 1'000;
    const std::int64_t r = ns / per + (ns % per != 0 ? 1 : 0);  // never claim more accuracy than we have
    return r > std::int64_t{0xffff'ffff} ? 0xffff'ffffu : static_cast<std::uint32_t>(r);
}

std::string_view to_string(NegotiateError e) {
    switch (e) {
    case NegotiateError::Malformed: return "malformed VER list";
    case NegotiateError::NoCommonVersion: return "no common version";
    }
    return "unknown negotiation error";
}

std::size_t write_version_list(std::span<const Version> versions, std::span<std::byte> out) {
    // Ascending by wire value, no repeats: pick the smallest value above the previous each time.
    std::size_t n = 0;
    std::uint64_t prev = 0;
    bool first = true;
    for (;;) {
        std::optional<std::uint32_t> best;
        for (Version v : versions) {
            if (!traits(v).sends_ver) continue;
            const std::uint32_t w = to_wire(v);
            if (!first && w <= prev) continue;
            if (!best || w < *best) best = w;
        }
        if (!best) break;
        if (out.size() < 4 * (n + 1)) return 0;
        store_le32(out.subspan(4 * n), *best);
        ++n;
        prev = *best;
        first = false;
    }
    return 4 * n;
}

Expected<Version, NegotiateError> negotiate(std::span<const std::byte> client_ver_value,
                                            std::span<const Version> supported) {
    if (client_ver_value.empty() || client_ver_value.size() % 4 != 0 ||
        client_ver_value.size() / 4 > kMaxVersionList)
        return unexpected(NegotiateError::Malformed);
    const VersionTraits* best = nullptr;
    for (std::size_t i = 0; i < client_ver_value.size(); i += 4) {
        const auto v = version_from_wire(load_le32(client_ver_value.subspan(i)));
        if (!v) continue;  // versions we do not know are skipped, not an error (§5.1.1)
        bool ok = false;
        for (Version s : supported) ok = ok || s == *v;
        if (!ok) continue;
        const VersionTraits& t = traits(*v);
        if (!best || t.rank > best->rank) best = &t;
    }
    if (!best) return unexpected(NegotiateError::NoCommonVersion);
    return best->version;
}

}  // namespace timepipe::roughtime
