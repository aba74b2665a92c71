#include "libtime/roughtime/query_plan.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "libtime/roughtime/message.hpp"
#include "libtime/roughtime/server_list.hpp"
#include "libtime/stream/records.hpp"

namespace timepipe::roughtime {

// --- versions ---------------------------------------------------------------------------------

std::string_view short_name(Version v) {
    switch (v) {
    case Version::Rfc: return "rfc";
    case Version::Draft12: return "draft-12";
    case Version::Draft11: return "draft-11";
    case Version::Draft08: return "draft-08";
    case Version::Google: return "google";
    }
    return "unknown";
}

std::vector<Version> default_versions() {
    std::vector<Version> out;
    for (const auto& t : all_versions())
        if (t.version != Version::Google) out.push_back(t.version);
    return out;
}

namespace {

std::optional<std::vector<Version>> named_set(std::string_view name) {
    if (name == "all" || name == "ietf") return default_versions();
    for (const auto& t : all_versions()) {
        std::string bare(short_name(t.version));
        bare.erase(std::remove(bare.begin(), bare.end(), '-'), bare.end());
        if (name == short_name(t.version) || name == bare) return std::vector<Version>{t.version};
    }
    return std::nullopt;
}

}  // namespace

Result<std::vector<Version>> parse_version_set(std::string_view text) {
    std::vector<Version> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = text.find(',', start);
        const std::string_view name = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
        auto set = named_set(name);
        if (!set)
            return fail("unknown version \"" + std::string(name) + "\" (rfc, draft-12, draft-11, draft-08, google, ietf)",
                        EX_USAGE);
        for (Version v : *set)
            if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    const bool google = std::find(out.begin(), out.end(), Version::Google) != out.end();
    if (google && out.size() > 1) return fail("google cannot be offered together with IETF versions", EX_USAGE);
    return out;
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

// --- keys -------------------------------------------------------------------------------------

Result<crypto::PublicKey> parse_public_key(std::string_view text) {
    std::optional<std::vector<std::byte>> bytes;
    if (text.size() == 2 * crypto::kEd25519PublicKeySize) bytes = hex_decode(text);
    if (!bytes) bytes = base64_decode(text);
    if (!bytes) return fail("not base64 or hex", EX_USAGE);
    if (bytes->size() != crypto::kEd25519PublicKeySize)
        return fail("not 32 bytes but " + std::to_string(bytes->size()), EX_USAGE);
    crypto::PublicKey key{};
    std::copy(bytes->begin(), bytes->end(), key.begin());
    return key;
}

// --- retries ----------------------------------------------------------------------------------

std::chrono::nanoseconds RetryPlan::try_timeout(int attempt) const {
    std::chrono::nanoseconds t = timeout;
    for (int k = 0; k < attempt && t < max_timeout; ++k) t *= 2;
    return std::max(std::min(t, max_timeout), std::chrono::nanoseconds(1));
}

std::chrono::nanoseconds RetryPlan::total() const {
    std::chrono::nanoseconds sum{0};
    for (int k = 0; k < tries(); ++k) sum += try_timeout(k);
    return sum;
}

// --- measurement sequence ---------------------------------------------------------------------

Result<std::vector<std::size_t>> measurement_sequence(std::size_t servers, std::size_t pick,
                                                      const UniformRandom& uniform) {
    if (pick == 0) pick = servers;
    if (pick > servers)
        return fail("cannot pick " + std::to_string(pick) + " of " + std::to_string(servers) + " servers", EX_USAGE);
    if (pick < kMinSequenceServers)
        return fail(std::to_string(pick) + (pick == 1 ? " server" : " servers") +
                        ": a measurement sequence needs at least 3 (RFC 10049 §8.2)",
                    EX_USAGE);
    std::vector<std::size_t> all(servers);
    for (std::size_t i = 0; i < servers; ++i) all[i] = i;
    // Fisher-Yates: the first `pick` places end up a uniformly random ordered selection.
    for (std::size_t i = 0; i < pick; ++i) {
        const auto j = i + uniform(static_cast<std::uint32_t>(servers - i));
        std::swap(all[i], all[j]);
    }
    std::vector<std::size_t> order(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(pick));
    order.insert(order.end(), all.begin(), all.begin() + static_cast<std::ptrdiff_t>(pick));
    return order;
}

// --- the sample record ------------------------------------------------------------------------

double clock_offset(UnixNanos midpoint, UnixNanos sent, UnixNanos received) {
    // sent + (received - sent) / 2 without overflow; the difference is kept in integers.
    const UnixNanos local_mid = sent + (received - sent) / 2;
    return nanos_to_seconds(midpoint - local_mid);
}

Record sample_record(const std::string& source, const VerifiedTime& t, UnixNanos sent, UnixNanos received,
                     ChainVerdict verdict) {
    Sample s;
    s.source = source;
    s.time = received;
    s.offset = clock_offset(t.midpoint, sent, received);
    s.delay = nanos_to_seconds(std::max<std::int64_t>(0, received - sent));
    s.dispersion = nanos_to_seconds(t.radius_ns);
    s.stratum = 1;
    s.leap = 0;
    s.refid = "ROUG";
    s.poll = 0;
    s.root_delay = s.delay;
    s.root_dispersion = s.dispersion;
    Record r = to_record(s);
    r["roughtime_version"] = std::string(short_name(t.version));
    // The keys of Sample::verified and Sample::conflict, after roughtime_version.
    r["verified"] = verdict == ChainVerdict::Consistent;
    if (verdict == ChainVerdict::Conflict) r["conflict"] = true;
    return r;
}

std::string iso8601_utc(UnixNanos t) {
    std::int64_t secs = t / kNanosPerSecond;
    std::int64_t frac = t % kNanosPerSecond;
    if (frac < 0) {
        frac += kNanosPerSecond;
        --secs;
    }
    const auto tt = static_cast<std::time_t>(secs);
    std::tm tm{};
    if (!gmtime_r(&tt, &tm)) return std::to_string(secs) + "s";
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out = buf;
    if (frac != 0) {
        char f[16];
        if (frac % 1000 == 0) std::snprintf(f, sizeof f, ".%06lld", static_cast<long long>(frac / 1000));
        else std::snprintf(f, sizeof f, ".%09lld", static_cast<long long>(frac));
        out += f;
    }
    return out + "Z";
}

}  // namespace timepipe::roughtime
