#include "libtime/roughtime/version_set.hpp"

#include <algorithm>
#include <optional>
#include <string>

namespace timepipe::roughtime {

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

}  // namespace timepipe::roughtime
