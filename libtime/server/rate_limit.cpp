#include "libtime/server/rate_limit.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <string>

#include "libtime/base/cidr.hpp"

namespace timepipe {
namespace {

constexpr double kMinRate = 0.001, kMaxRate = 1e6;
constexpr std::uint32_t kMaxBurst = 1'000'000;
constexpr std::uint32_t kMaxKodShift = 16;
constexpr std::size_t kMaxTable = std::size_t{1} << 26;  // 2 GiB of entries is surely a typo

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size() && i < 32; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        out += (c >= 0x20 && c < 0x7f && c != '"') ? static_cast<char>(c) : '?';
    }
    return out + (s.size() > 32 ? "...\"" : "\"");
}

// Plain decimal: digits with at most one '.', no sign, exponent, "inf" or "nan".
bool plain_decimal(std::string_view s) {
    int dots = 0, digits = 0;
    for (char c : s) {
        if (c == '.')
            ++dots;
        else if (c >= '0' && c <= '9')
            ++digits;
        else
            return false;
    }
    return digits > 0 && dots <= 1;
}

}  // namespace

Result<RateLimitConfig> parse_rate_limit(std::string_view text, const RateLimitConfig& base) {
    RateLimitConfig cfg = base;
    if (text == "off") {
        cfg.enabled = false;
        return cfg;
    }
    std::size_t slash = text.find('/');
    std::string_view r = text.substr(0, slash);
    double rate = 0;
    if (!plain_decimal(r)) return fail("bad rate " + quoted(r), EX_USAGE);
    auto [rp, rec] = std::from_chars(r.data(), r.data() + r.size(), rate);
    if (rec != std::errc{} || rp != r.data() + r.size() || !(rate >= kMinRate && rate <= kMaxRate))
        return fail("bad rate " + quoted(r) + " (0.001 to 1000000 per second)", EX_USAGE);
    cfg.enabled = true;
    cfg.rate = rate;
    if (slash == std::string_view::npos) {
        cfg.burst = std::max<std::uint32_t>(8, static_cast<std::uint32_t>(std::ceil(rate)));
        return cfg;
    }
    std::string_view b = text.substr(slash + 1);
    std::uint32_t burst = 0;
    auto [bp, bec] = std::from_chars(b.data(), b.data() + b.size(), burst);
    if (b.empty() || b[0] == '+' || bec != std::errc{} || bp != b.data() + b.size() || burst < 1 ||
        burst > kMaxBurst)
        return fail("bad burst " + quoted(b) + " (1 to 1000000)", EX_USAGE);
    cfg.burst = burst;
    return cfg;
}

Result<void> check_rate_limit_config(const RateLimitConfig& cfg) {
    if (!(cfg.rate >= kMinRate && cfg.rate <= kMaxRate))
        return fail("rate " + std::to_string(cfg.rate) + " out of range", EX_USAGE);
    if (cfg.burst < 1 || cfg.burst > kMaxBurst)
        return fail("burst " + std::to_string(cfg.burst) + " out of range", EX_USAGE);
    if (cfg.kod_shift > kMaxKodShift)
        return fail("kod shift " + std::to_string(cfg.kod_shift) + " out of range", EX_USAGE);
    if (!std::has_single_bit(cfg.table_size) || cfg.table_size < RateLimiter::kWays ||
        cfg.table_size > kMaxTable)
        return fail("table size " + std::to_string(cfg.table_size) + " is not a power of two from " +
                        std::to_string(RateLimiter::kWays) + " to " + std::to_string(kMaxTable),
                    EX_USAGE);
    if (cfg.v4_prefix < 0 || cfg.v4_prefix > 32)
        return fail("bad prefix length " + std::to_string(cfg.v4_prefix), EX_USAGE);
    if (cfg.v6_prefix < 0 || cfg.v6_prefix > 128)
        return fail("bad prefix length " + std::to_string(cfg.v6_prefix), EX_USAGE);
    return {};
}

namespace {
RateLimitConfig clamped(RateLimitConfig c) {
    // Out-of-range values are clamped rather than trusted; check_rate_limit_config reports them.
    c.rate = std::clamp(c.rate, kMinRate, kMaxRate);
    c.burst = std::clamp<std::uint32_t>(c.burst, 1, kMaxBurst);
    c.kod_shift = std::min(c.kod_shift, kMaxKodShift);
    c.table_size = std::bit_ceil(std::clamp(c.table_size, RateLimiter::kWays, kMaxTable));
    c.v4_prefix = std::clamp(c.v4_prefix, 0, 32);
    c.v6_prefix = std::clamp(c.v6_prefix, 0, 128);
    return c;
}
}  // namespace

RateLimiter::RateLimiter(const RateLimitConfig& cfg, std::span<const std::byte, 16> key)
    : cfg_(clamped(cfg)),
      interval_ns_(std::max<std::int64_t>(1, std::llround(1e9 / cfg_.rate))),
      tolerance_ns_(static_cast<std::int64_t>(cfg_.burst - 1) * interval_ns_),
      table_(cfg_.enabled ? cfg_.table_size : 0, key) {}  // the only allocation

RateDecision RateLimiter::check(std::span<const std::byte> addr, std::int64_t now_ns) noexcept {
    auto a = IpAddress::from_bytes(addr);
    if (!a) {
        ++stats_.bad_address;
        ++stats_.dropped;
        return RateDecision::Drop;
    }
    if (!cfg_.enabled) {
        ++stats_.passed;
        return RateDecision::Pass;
    }
    const IpAddress key_addr = a->masked(a->is_v4() ? cfg_.v4_prefix : cfg_.v6_prefix);
    const std::uint64_t tag = table_.tag_of(key_addr.bytes());

    // Use stamps are nanoseconds shifted to be non-negative (0 would sort before every client).
    const auto stamp_of = [](std::int64_t ns) { return static_cast<std::uint64_t>(ns) ^ (std::uint64_t{1} << 63); };
    const auto ns_of = [](std::uint64_t stamp) { return static_cast<std::int64_t>(stamp ^ (std::uint64_t{1} << 63)); };
    bool fresh = false;
    const std::size_t i = table_.find_or_insert(tag, stamp_of(now_ns), fresh);
    Bucket& e = table_.value(i);
    if (fresh) {
        ++stats_.new_clients;
        e = Bucket{now_ns, 0};  // a new client starts with a full burst
    }
    stats_.evictions = table_.evictions();
    const std::int64_t t = std::max(now_ns, ns_of(table_.last_use(i)));  // never let time run backwards
    table_.touch(i, stamp_of(t));
    if (e.tat <= t) e.limited = 0;  // bucket full again: the next excess gets a fresh KoD
    const std::int64_t tat = std::max(e.tat, t);
    if (tat - t <= tolerance_ns_) {
        e.tat = tat + interval_ns_;
        ++stats_.passed;
        return RateDecision::Pass;
    }
    // Limited. The first excess request is kissed so an honest client learns at once; after
    // that only one in 2^kod_shift, so a spoofed flood cannot turn us into a KoD reflector.
    const std::uint32_t n = e.limited++;
    if ((n & ((std::uint32_t{1} << cfg_.kod_shift) - 1)) == 0) {
        ++stats_.kod;
        return RateDecision::Kod;
    }
    ++stats_.dropped;
    return RateDecision::Drop;
}

}  // namespace timepipe
