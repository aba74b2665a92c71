// What the discipline tests share: the sample an NTP server gives, as the engine gets it from
// ntp-query (with the times of tests/unit/test_support.hpp: kSec, kT0).
//
//   d.on_sample(ntp("192.0.2.1", kT0 + 64 * kSec, 0.001));
#pragma once

#include <string>

#include "libtime/base/unix_time.hpp"
#include "libtime/stream/records.hpp"
#include "tests/unit/test_support.hpp"

namespace timepipe::test {

// A stratum-2 sample from ntp://HOST:123 at `t` with `offset`, 1 µs of dispersion and 1 ms of
// root delay.
inline Sample ntp(const std::string& host, UnixNanos t, double offset, double delay = 0.0002,
                  double root_dispersion = 0.001) {
    Sample s;
    s.source = "ntp://" + host + ":123";
    s.time = t;
    s.offset = offset;
    s.delay = delay;
    s.dispersion = 1e-6;
    s.stratum = 2;
    s.refid = "192.0.2.200";
    s.poll = 6;
    s.root_delay = 0.001;
    s.root_dispersion = root_dispersion;
    return s;
}

}  // namespace timepipe::test
