// What a client says about one association (RFC 5905 §13), pure: what a kiss code means to a
// user, and which changes of a source's poll status are worth a message.
//
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

#include "libtime/ntp/packet.hpp"
#include "libtime/ntp/poll.hpp"

namespace timepipe::ntp {

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
