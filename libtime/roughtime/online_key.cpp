#include "libtime/roughtime/online_key.hpp"

#include <algorithm>
#include <limits>

namespace timepipe::roughtime {

namespace {
std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
    if (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b) return std::numeric_limits<std::int64_t>::max();
    if (b < 0 && a < std::numeric_limits<std::int64_t>::min() - b) return std::numeric_limits<std::int64_t>::min();
    return a + b;
}
}  // namespace

RotationSchedule::RotationSchedule(std::int64_t validity_ns) : validity_(std::max(validity_ns, kMinValidity)) {}

std::int64_t RotationSchedule::lead_ns() const { return std::min(validity_ / 4, kMaxLead); }

std::int64_t RotationSchedule::backdate_ns() const { return std::min(validity_ / 4, kMaxLead); }

OnlineKeyWindow RotationSchedule::window_at(UnixNanos served_now) const {
    return OnlineKeyWindow{saturating_add(served_now, -backdate_ns()), saturating_add(served_now, validity_)};
}

}  // namespace timepipe::roughtime
