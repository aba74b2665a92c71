#include "libtime/roughtime/retry.hpp"

#include <algorithm>

namespace timepipe::roughtime {

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

}  // namespace timepipe::roughtime
