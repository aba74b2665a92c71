// When to try again: exponential backoff from 2^min_exponent s, doubling up to 2^max_exponent
// s, and a gate for tries that events ask for (at most one per interval). Pure: the caller
// owns the timers and hands in monotonic times.
//
//   RetrySchedule retry(poll.minpoll, poll.maxpoll);     // -2, 1: 250 ms, 500 ms, 1 s, 2 s, 2 s...
//   timer.start(retry.next());                           // after a failed try
//   retry.reset();                                       // it worked: the next wait is the first
//   if (retry.allow(monotonic_now())) look_again();      // an event asks: not twice an interval
#pragma once

#include <chrono>
#include <cstdint>

namespace timepipe {

class RetrySchedule {
public:
    // A max_exponent below min_exponent means min_exponent. Exponents outside [-30, 30] are
    // clamped.
    RetrySchedule(int min_exponent, int max_exponent);

    // The wait before the next try; the one after is twice as long, up to the maximum.
    std::chrono::nanoseconds next();
    // Start over: the next wait is 2^min_exponent s again. The gate of allow() stays.
    void reset();
    // An event asks for a try at `now` (monotonic ns): true, and the gate closes for next(),
    // unless the previous allowed try was less than its interval ago.
    bool allow(std::int64_t now);

    int exponent() const { return exponent_; }  // of the wait next() returns

private:
    int min_;
    int max_;
    int exponent_;
    std::int64_t not_before_ = INT64_MIN;
};

}  // namespace timepipe
