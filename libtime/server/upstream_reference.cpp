#include "libtime/server/upstream_reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <sodium.h>

#include "libtime/base/cidr.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/ntp/constants.hpp"
#include "libtime/ntp/onwire.hpp"

namespace timepipe {

namespace {
bool finite_nonneg(double v) { return std::isfinite(v) && v >= 0; }
}  // namespace

std::optional<std::uint32_t> refid_for_source(std::string_view source) {
    if (source.starts_with("ntp://")) source.remove_prefix(6);
    auto hp = parse_host_port(source);
    if (!hp || hp->host.empty()) return std::nullopt;
    if (auto ip = parse_ip(hp->host)) {
        const auto& b = ip->bytes();
        if (ip->is_v4())
            return (std::uint32_t{std::to_integer<std::uint8_t>(b[12])} << 24) |
                   (std::uint32_t{std::to_integer<std::uint8_t>(b[13])} << 16) |
                   (std::uint32_t{std::to_integer<std::uint8_t>(b[14])} << 8) |
                   std::uint32_t{std::to_integer<std::uint8_t>(b[15])};
        return ntp::refid_from_ipv6(std::span<const std::byte, 16>(b));
    }
    std::array<unsigned char, 16> digest{};
    std::vector<unsigned char> name(hp->host.begin(), hp->host.end());
    crypto_generichash(digest.data(), digest.size(), name.data(), name.size(), nullptr, 0);
    std::array<std::byte, 16> as_bytes{};
    std::memcpy(as_bytes.data(), digest.data(), digest.size());
    return ntp::refid_from_ipv6(as_bytes);
}

Result<void> UpstreamReference::add(const Sample& s) {
    if (s.kod) return fail(s.source + ": Kiss-o'-Death " + *s.kod + ", sample not used");
    if (s.leap == 3) return fail(s.source + ": upstream unsynchronised (leap 3), sample not used");
    if (s.stratum < 1 || s.stratum >= 15)
        return fail(s.source + ": upstream stratum " + std::to_string(s.stratum) + ", sample not used");
    double rd = s.root_delay.value_or(0), rdisp = s.root_dispersion.value_or(0);
    if (!std::isfinite(s.offset) || std::fabs(s.offset) > 1e9 || !finite_nonneg(s.delay) ||
        !finite_nonneg(s.dispersion) || !finite_nonneg(rd) || !finite_nonneg(rdisp) || s.delay > 65536 ||
        rd > 65536 || rdisp > 65536)
        return fail(s.source + ": offset, delay or dispersion out of range, sample not used");
    auto refid = refid_for_source(s.source);
    if (!refid) return fail("\"" + s.source + "\": no address or name to derive a refid from");
    UpstreamSample u;
    u.time = s.time;
    u.offset_ns = std::llround(s.offset * 1e9);
    u.delay = s.delay;
    u.dispersion = s.dispersion;
    u.root_delay = rd;
    u.root_dispersion = rdisp;
    u.stratum = static_cast<std::uint8_t>(s.stratum);
    u.leap = static_cast<ntp::Leap>(s.leap);
    u.poll = static_cast<std::int8_t>(std::clamp(s.poll, -128, 127));
    u.refid = *refid;
    ring_[count_ % kDepth] = u;
    ++count_;
    return {};
}

std::optional<UpstreamSample> UpstreamReference::best() const {
    std::size_t n = std::min(count_, kDepth);
    if (n == 0) return std::nullopt;
    const UpstreamSample* b = nullptr;
    for (std::size_t i = 0; i < n; ++i)
        if (b == nullptr || ring_[i].delay < b->delay) b = &ring_[i];
    return *b;
}

std::int64_t UpstreamReference::stale_after_ns() const {
    if (config_.stale_after_ns) return *config_.stale_after_ns;
    if (count_ == 0) return kMinStale;
    int poll = std::clamp<int>(ring_[(count_ - 1) % kDepth].poll, -10, 10);
    double s = 8.0 * std::ldexp(1.0, poll) * 1e9;
    return std::clamp(static_cast<std::int64_t>(s), kMinStale, kMaxStale);
}

ntp::ServerState UpstreamReference::state_at(UnixNanos now, std::int8_t precision) const {
    ntp::ServerState unsync = ntp::unsynchronised_state(precision);
    if (ended_ || count_ == 0) return unsync;
    const UpstreamSample& newest = ring_[(count_ - 1) % kDepth];
    std::int64_t stale = stale_after_ns();
    if (now - newest.time > stale) return unsync;
    // The best sample that is itself not stale.
    const UpstreamSample* b = nullptr;
    for (std::size_t i = 0; i < std::min(count_, kDepth); ++i)
        if (now - ring_[i].time <= stale && (b == nullptr || ring_[i].delay < b->delay)) b = &ring_[i];
    if (b == nullptr) return unsync;
    double age = std::max<double>(0, nanos_to_seconds(now - b->time));
    ntp::ServerState st;
    st.leap = b->leap;
    st.stratum = static_cast<std::uint8_t>(b->stratum + 1);
    st.precision = precision;
    st.root_delay = ntp::short_from_seconds(b->root_delay + b->delay);
    st.root_dispersion = ntp::short_from_seconds(b->root_dispersion + b->dispersion + ntp::kPhi * age);
    st.refid = b->refid;
    st.correction_ns = config_.correct ? b->offset_ns : 0;
    st.reference = ntp::from_unix_nanos(b->time + st.correction_ns);
    return st;
}

}  // namespace timepipe
