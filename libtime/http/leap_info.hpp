// The leap fields of the WebNTP JSON line from a leap-seconds.list (discipline/leap_file, the one
// parser; it checks the #h SHA-1 and reads the #@ expiry).
//
//   auto info = leap_info(table, now);   // {leap 36, next 2017-01-01, step +1} for today's list
//
// `next` is the first leap second after now, or the last one when none is announced (what
// go-webntp sends: its fixed 2017-01-01); `leap` is TAI-UTC before `next`; `step` the change at
// `next` (+1 inserted, -1 deleted). An expired list (its #@ at or before now) or none gives
// {0, 0, 0}: unknown, never stale numbers. Pure.
#pragma once

#include "libtime/base/unix_time.hpp"
#include "libtime/discipline/leap_file.hpp"
#include "libtime/http/webntp_session.hpp"

namespace timepipe::http {

LeapInfo leap_info(const discipline::LeapTable& table, UnixNanos now);

}  // namespace timepipe::http
