// What a client decides about one association (RFC 5905 §10, §13), pure: a sample into the
// clock filter and the poll state, what a kiss code means to a user, and which changes of a
// source's poll status are worth a message.
//
//   double jitter = take_sample(filter, &poll, sample, mono_now);   // a valid reply//
//   const auto before = poll.status();
//   poll.on_timeout(now);
//   switch (reach_change(before, poll.status())) {
//   case ReachChange::Lost: warn("not answering"); [[fallthrough]];
//   case ReachChange::StillLost: look_for_another_address(); break;
//   case ReachChange::Regained: warn("answering again"); break;
//   case ReachChange::None: break;
//   }
#pragma once

#include <string_view>

#include "libtime/ntp/filter.hpp"
#include "libtime/ntp/packet.hpp"
#include "libtime/ntp/poll.hpp"

namespace timepipe::ntp {

// A valid sample: into the clock filter and, for a polled source, the poll state as a reply
// that is consistent when its offset moved within the poll gate (RFC 5905 A.5.5.6) of the
// estimate before it. Returns the filter's jitter (0 while it has no estimate).
double take_sample(ClockFilter& filter, PollState* poll, const NtpSample& sample, MonoNanos now);

// "server refuses service" (DENY), "server restricts access" (RSTR), "server asks to slow
// down" (RATE), "unknown code".
std::string_view kiss_meaning(Kiss k);

enum class ReachChange {
    None,       // nothing to say
    Lost,       // it just became unreachable: its reach register is empty
    StillLost,  // it was and is unreachable
    Regained,   // it was unreachable and answers again
};
ReachChange reach_change(PollStatus before, PollStatus now);

}  // namespace timepipe::ntp
