#include "libtime/base/retry.hpp"

#include <algorithm>

namespace timepipe {

namespace {
constexpr int kLimit = 30;
}

RetrySchedule::RetrySchedule(int min_exponent, int max_exponent)
    : min_(std::clamp(min_exponent, -kLimit, kLimit)),
      max_(std::max(min_, std::clamp(max_exponent, -kLimit, kLimit))),
      exponent_(min_) {}

std::chrono::nanoseconds RetrySchedule::next() {
    const int e = exponent_;
    exponent_ = std::min(exponent_ + 1, max_);
    const std::chrono::nanoseconds second = std::chrono::seconds(1);
    return e >= 0 ? second * (std::int64_t{1} << e) : second / (std::int64_t{1} << -e);
}

void RetrySchedule::reset() { exponent_ = min_; }

bool RetrySchedule::allow(std::int64_t now) {
    if (now < not_before_) return false;
    not_before_ = now + next().count();
    return true;
}

}  // namespace timepipe
