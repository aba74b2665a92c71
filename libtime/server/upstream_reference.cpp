#include "libtime/server/upstream_reference.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include <sodium.h>

#include "libtime/base/cidr.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/ntp/constants.hpp"
#include "libtime/ntp/packet.hpp"
#include "libtime/ntp/select.hpp"
#include "libtime/ntp/timestamp.hpp"

namespace timepipe {

namespace {

constexpr double kMaxSeconds = 4294967295.0;  // delays and dispersions: RADI's range, not NTP's 16.16
constexpr UnixNanos kForever = std::numeric_limits<UnixNanos>::max();

bool finite_nonneg(double v) { return std::isfinite(v) && v >= 0; }

std::int64_t age_of(UnixNanos t, UnixNanos now) { return now >= t ? now - t : t - now; }

// The MD5 refid of a 16-octet BLAKE2b digest of `text` (names have no address to hash).
std::uint32_t hashed_refid(std::string_view text) {
    std::array<unsigned char, 16> digest{};
    const std::vector<unsigned char> bytes(text.begin(), text.end());
    crypto_generichash(digest.data(), digest.size(), bytes.data(), bytes.size(), nullptr, 0);
    std::array<std::byte, 16> as_bytes{};
    std::memcpy(as_bytes.data(), digest.data(), digest.size());
    return ntp::refid_from_ipv6(as_bytes).value_or(0);
}

// "ntp" of "ntp://host:123"; empty without "://".
std::string_view scheme_of(std::string_view source) {
    const auto pos = source.find("://");
    return pos == std::string_view::npos ? std::string_view() : source.substr(0, pos);
}

bool network_scheme(std::string_view scheme) {
    return scheme.empty() || scheme == "ntp" || scheme == "nts" || scheme == "roughtime";
}

std::uint32_t ascii_refid(std::string_view text) {
    std::uint32_t r = 0;
    for (std::size_t i = 0; i < 4; ++i)
        r = (r << 8) | (i < text.size() ? static_cast<unsigned char>(text[i]) : 0u);
    return r;
}

// An IPv4 address (as the last 4 of 16 octets, v4-mapped) as a refid: the address itself.
template <typename Bytes>
std::uint32_t ipv4_refid(const Bytes& b) {
    return (std::uint32_t{std::to_integer<std::uint8_t>(b[12])} << 24) |
           (std::uint32_t{std::to_integer<std::uint8_t>(b[13])} << 16) |
           (std::uint32_t{std::to_integer<std::uint8_t>(b[14])} << 8) | std::uint32_t{std::to_integer<std::uint8_t>(b[15])};
}

std::string seconds_text(std::int64_t ns) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", nanos_to_seconds(ns));
    return buf;
}

}  // namespace

std::optional<std::uint32_t> refid_for_source(std::string_view source) {
    const std::string_view scheme = scheme_of(source);
    if (!network_scheme(scheme)) return std::nullopt;
    if (!scheme.empty()) source.remove_prefix(scheme.size() + 3);
    auto hp = parse_host_port(source);
    if (!hp || hp->host.empty()) return std::nullopt;
    if (auto ip = parse_ip(hp->host)) {
        const auto& b = ip->bytes();
        if (ip->is_v4()) return ipv4_refid(b);
        return ntp::refid_from_ipv6(std::span<const std::byte, 16>(b));
    }
    return hashed_refid(hp->host);
}

std::optional<std::uint32_t> reference_id(const Sample& s) {
    const std::string_view scheme = scheme_of(s.source);
    if (network_scheme(scheme)) return refid_for_source(s.source);
    if (s.stratum != 0) return hashed_refid(s.source);
    const bool printable = !s.refid.empty() && s.refid.size() <= 4 &&
                           std::all_of(s.refid.begin(), s.refid.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    if (printable) return ascii_refid(s.refid);
    std::string upper;
    for (char c : scheme.substr(0, 4)) upper += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    return ascii_refid(upper);
}

std::optional<std::uint32_t> parse_refid_text(std::string_view text) {
    if (auto ip = parse_ip(text); ip && ip->is_v4()) return ipv4_refid(ip->bytes());
    const bool printable = !text.empty() && text.size() <= 4 &&
                           std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    if (printable) return ascii_refid(text);
    return std::nullopt;
}

std::int64_t UpstreamReference::stale_after_ns(int poll) const {
    if (config_.stale_after_ns) return *config_.stale_after_ns;
    const double s = 8.0 * std::ldexp(1.0, std::clamp(poll, -10, 17)) * 1e9;
    return std::max(kMinStale, static_cast<std::int64_t>(s));
}

Result<void> UpstreamReference::add(const Sample& s, UnixNanos now) {
    if (s.kod) return fail(s.source + ": Kiss-o'-Death " + *s.kod + ", sample not used");
    if (s.leap == 3) return fail(s.source + ": upstream unsynchronised (leap 3), sample not used");
    const bool network = network_scheme(scheme_of(s.source));
    if (s.stratum >= 15 || (s.stratum < 1 && network) || s.stratum < 0)
        return fail(s.source + ": upstream stratum " + std::to_string(s.stratum) + ", sample not used");
    const double rd = s.root_delay.value_or(0), rdisp = s.root_dispersion.value_or(0);
    if (!std::isfinite(s.offset) || std::fabs(s.offset) > 1e9 || !finite_nonneg(s.delay) ||
        !finite_nonneg(s.dispersion) || !finite_nonneg(rd) || !finite_nonneg(rdisp) || s.delay > kMaxSeconds ||
        s.dispersion > kMaxSeconds || rd > kMaxSeconds || rdisp > kMaxSeconds ||
        (s.jitter && (!finite_nonneg(*s.jitter) || *s.jitter > kMaxSeconds)))
        return fail(s.source + ": offset, delay, dispersion or jitter out of range, sample not used");
    auto refid = reference_id(s);
    if (!refid) return fail("\"" + s.source + "\": no address or name to derive a refid from");
    UpstreamSample u;
    u.poll = static_cast<std::int8_t>(std::clamp(s.poll, -128, 127));
    u.time = s.time;
    if (s.time > now) {  // ahead of our clock: counted as taken on arrival, unless absurdly early
        const std::int64_t ahead = s.time - now;
        if (ahead > stale_after_ns(u.poll))
            return fail(s.source + ": sample dated " + seconds_text(ahead) + " s ahead of the local clock, not used");
        u.time = now;
    }
    u.offset_ns = std::llround(s.offset * 1e9);
    u.delay = s.delay;
    u.dispersion = s.dispersion;
    u.root_delay = rd;
    u.root_dispersion = rdisp;
    u.jitter = s.jitter.value_or(-1);
    u.stratum = static_cast<std::uint8_t>(s.stratum);
    u.leap = static_cast<ntp::Leap>(s.leap);
    u.refid = *refid;

    auto it = std::find_if(sources_.begin(), sources_.end(), [&](const Source& x) { return x.name == s.source; });
    if (it == sources_.end()) {
        if (sources_.size() >= kMaxSources) {
            it = std::min_element(sources_.begin(), sources_.end(),
                                  [](const Source& a, const Source& b) { return a.newest < b.newest; });
            *it = Source{};
        } else {
            it = sources_.insert(sources_.end(), Source{});
        }
        it->name = s.source;
    }
    it->ring[it->count % kDepth] = u;
    ++it->count;
    it->newest = u.time;
    return {};
}

Result<void> UpstreamReference::add(const Tracking& t, UnixNanos now) {
    const std::string who = t.source + " (tracking)";
    if (!parse_refid_text(t.refid) && t.synchronised)
        return fail(who + ": refid \"" + t.refid + "\" is neither an IPv4 address nor 1-4 ASCII characters, not used");
    if (!finite_nonneg(t.root_delay) || !finite_nonneg(t.root_dispersion) || !std::isfinite(t.offset) ||
        t.root_delay > kMaxSeconds || t.root_dispersion > kMaxSeconds || std::fabs(t.offset) > kMaxSeconds)
        return fail(who + ": root delay, root dispersion or offset out of range, not used");
    Tracking kept = t;
    if (t.time > now) {  // ahead of our clock: as of its arrival, unless absurdly early
        const std::int64_t ahead = t.time - now;
        if (ahead > stale_after_ns(t.poll.value_or(6)))
            return fail(who + ": dated " + seconds_text(ahead) + " s ahead of the local clock, not used");
        kept.time = now;
    }
    tracking_ = std::move(kept);
    return {};
}

Result<void> UpstreamReference::add(const UpstreamRecord& r, UnixNanos now) {
    return std::visit([&](const auto& x) { return add(x, now); }, r);
}

UpstreamReference::Decision UpstreamReference::decide_from_tracking(UnixNanos now) const {
    const Tracking& tr = *tracking_;
    Decision d;
    d.valid = true;
    d.from = now;
    d.until = kForever;
    if (!tr.synchronised || tr.leap == 3 || tr.stratum < 1 || tr.stratum >= 16) {
        d.report = {UpstreamStatus::no_selection, "",
                    "unsynchronised: the discipline says so (stratum " + std::to_string(tr.stratum) + ", leap " +
                        std::to_string(tr.leap) + ")"};
        return d;
    }
    const std::int64_t bound = stale_after_ns(tr.poll.value_or(6));
    if (age_of(tr.time, now) > bound) {
        d.report = {UpstreamStatus::stale, "",
                    "unsynchronised: the tracking record is stale (" + seconds_text(age_of(tr.time, now)) + " s old)"};
        return d;
    }
    if (tr.time <= kForever - bound) d.until = tr.time + bound;
    UpstreamTime& t = d.base;
    t.synchronised = true;
    t.leap = static_cast<ntp::Leap>(tr.leap);
    t.stratum = static_cast<std::uint8_t>(tr.stratum);
    t.refid = parse_refid_text(tr.refid).value_or(0);
    t.root_delay = tr.root_delay;
    t.root_dispersion = tr.root_dispersion + std::fabs(tr.offset);
    t.correction_ns = 0;
    t.reference = tr.time;
    d.peer_time = tr.time;
    d.report = {UpstreamStatus::synchronised, tr.source,
                "synchronised to " + tr.source + " through the discipline (stratum " + std::to_string(tr.stratum - 1) +
                    ")"};
    return d;
}

UpstreamReference::Decision UpstreamReference::decide(UnixNanos now) const {
    if (tracking_ && !ended_) return decide_from_tracking(now);
    Decision d;
    d.valid = true;
    d.from = now;
    d.until = kForever;
    if (ended_) {
        d.report = {UpstreamStatus::ended, "", "unsynchronised: the upstream ended"};
        return d;
    }
    if (sources_.empty()) {
        d.report = {UpstreamStatus::waiting, "", "unsynchronised: no usable sample yet"};
        return d;
    }

    // The clock filter of each source: its usable sample with the lowest delay.
    std::vector<ntp::SelectCandidate> cand;
    std::vector<const UpstreamSample*> chosen;
    std::vector<const Source*> from;
    UnixNanos newest = std::numeric_limits<UnixNanos>::min();
    for (const Source& src : sources_) {
        const UpstreamSample* best = nullptr;
        const std::size_t n = std::min(src.count, kDepth);
        for (std::size_t i = 0; i < n; ++i) {
            const UpstreamSample& u = src.ring[i];
            newest = std::max(newest, u.time);
            const std::int64_t bound = stale_after_ns(u.poll);
            if (age_of(u.time, now) > bound) continue;
            if (u.time <= kForever - bound) d.until = std::min(d.until, u.time + bound);
            if (best == nullptr || u.delay < best->delay || (u.delay == best->delay && u.time > best->time)) best = &u;
        }
        if (best == nullptr) continue;
        double squares = 0;
        std::size_t fresh = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const UpstreamSample& u = src.ring[i];
            if (age_of(u.time, now) > stale_after_ns(u.poll)) continue;
            const double diff = nanos_to_seconds(u.offset_ns - best->offset_ns);
            squares += diff * diff;
            ++fresh;
        }
        ntp::SelectCandidate c;
        c.offset = nanos_to_seconds(best->offset_ns);
        c.delay = best->delay;
        c.dispersion = best->dispersion + ntp::kPhi * nanos_to_seconds(age_of(best->time, now));
        c.jitter = best->jitter >= 0 ? best->jitter : (fresh > 1 ? std::sqrt(squares / static_cast<double>(fresh - 1)) : 0.0);
        c.root_delay = best->root_delay;
        c.root_dispersion = best->root_dispersion;
        c.stratum = best->stratum;
        cand.push_back(c);
        chosen.push_back(best);
        from.push_back(&src);
    }
    if (cand.empty()) {
        d.report = {UpstreamStatus::stale, "",
                    "unsynchronised: every sample is stale (the newest is " + seconds_text(age_of(newest, now)) +
                        " s old)"};
        return d;
    }
    // Root distance only grows with age: a fit source becomes unfit when it passes max_distance.
    for (const ntp::SelectCandidate& c : cand) {
        const double dist = ntp::root_distance(c);
        if (dist > config_.max_distance || !std::isfinite(config_.max_distance)) continue;
        const double left_ns = (config_.max_distance - dist) / ntp::kPhi * 1e9;
        if (left_ns < 1e17) d.until = std::min<UnixNanos>(d.until, now + std::llround(left_ns) + 1);
    }

    ntp::SelectConfig sc;
    sc.max_distance = config_.max_distance;
    auto sel = ntp::select_sources(cand, sc);
    if (!sel) {
        d.report = {UpstreamStatus::no_selection, "", "unsynchronised: " + std::string(ntp::to_string(sel.error()))};
        return d;
    }
    // The system peer: the best survivor, unless the one before is still a survivor (no
    // clock hopping between sources that are about as good, as ntpd and chronyd).
    std::size_t p = sel->system_peer;
    if (decision_.report.status == UpstreamStatus::synchronised)
        for (std::size_t k : sel->survivors)
            if (from[k]->name == decision_.report.peer) p = k;
    // RFC 5905 §11.2.3 combine: the survivors' offsets weighted by 1 / root distance.
    double weights = 0, weighted = 0;
    for (std::size_t k : sel->survivors) {
        const double w = 1.0 / ntp::root_distance(cand[k]);
        weights += w;
        weighted += w * cand[k].offset;
    }
    const double offset = weighted / weights;
    double spread = 0;
    for (std::size_t k : sel->survivors) {
        const double diff = cand[k].offset - cand[p].offset;
        spread += diff * diff / ntp::root_distance(cand[k]);
    }
    const double sys_jitter = std::sqrt(spread / weights);

    const UpstreamSample& u = *chosen[p];
    UpstreamTime& t = d.base;
    t.synchronised = true;
    t.leap = u.leap;
    t.stratum = static_cast<std::uint8_t>(u.stratum + 1);
    t.refid = u.refid;
    t.root_delay = u.root_delay + u.delay;
    t.root_dispersion = u.root_dispersion + u.dispersion + std::hypot(cand[p].jitter, sys_jitter) +
                        (config_.correct ? 0.0 : std::fabs(offset));
    t.correction_ns = config_.correct ? std::llround(offset * 1e9) : 0;
    t.reference = u.time + t.correction_ns;
    d.peer_time = u.time;
    d.report = {UpstreamStatus::synchronised, from[p]->name,
                "synchronised to " + from[p]->name + " (stratum " + std::to_string(u.stratum) + ")"};
    return d;
}

void UpstreamReference::update(UnixNanos now) { decision_ = decide(now); }

UpstreamTime UpstreamReference::time_from(const Decision& d, UnixNanos now) const {
    if (!d.base.synchronised) return UpstreamTime{};
    UpstreamTime t = d.base;
    t.root_dispersion += ntp::kPhi * nanos_to_seconds(age_of(d.peer_time, now));
    return t;
}

UpstreamTime UpstreamReference::at(UnixNanos now) const {
    if (ended_) return UpstreamTime{};
    if (decision_.valid && now >= decision_.from && now <= decision_.until) return time_from(decision_, now);
    return time_from(decide(now), now);
}

ntp::ServerState UpstreamReference::state_at(UnixNanos now, std::int8_t precision) const {
    const UpstreamTime t = at(now);
    if (!t.synchronised) return ntp::unsynchronised_state(precision);
    ntp::ServerState st;
    st.leap = t.leap;
    st.stratum = t.stratum;
    st.precision = precision;
    st.root_delay = ntp::short_from_seconds(t.root_delay);
    st.root_dispersion = ntp::short_from_seconds(t.root_dispersion);
    st.refid = t.refid;
    st.correction_ns = t.correction_ns;
    st.reference = ntp::from_unix_nanos(t.reference);
    return st;
}

}  // namespace timepipe
