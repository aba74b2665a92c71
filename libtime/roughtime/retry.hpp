// How long each try of a Roughtime request waits (--timeout, --retries): exponential backoff.
//
//   for (int k = 0; k < plan.tries(); ++k) wait_up_to(plan.try_timeout(k));
#pragma once

#include <chrono>

namespace timepipe::roughtime {

// A request is sent up to 1 + retries times; try k waits timeout * 2^k for an answer, never more
// than max_timeout (exponential backoff: a congested or greasing server gets room).
struct RetryPlan {
    std::chrono::nanoseconds timeout = std::chrono::seconds(1);
    int retries = 2;
    std::chrono::nanoseconds max_timeout = std::chrono::seconds(30);

    int tries() const { return retries + 1; }
    std::chrono::nanoseconds try_timeout(int attempt) const;
    std::chrono::nanoseconds total() const;  // the longest a silent server can cost
};

}  // namespace timepipe::roughtime
