#include "libtime/ntp/association.hpp"

namespace timepipe::ntp {

std::string_view kiss_meaning(Kiss k) {
    switch (k) {
    case Kiss::Deny: return "server refuses service";
    case Kiss::Rstr: return "server restricts access";
    case Kiss::Rate: return "server asks to slow down";
    case Kiss::Other: break;
    }
    return "unknown code";
}

ReachChange reach_change(PollStatus before, PollStatus now) {
    if (now == PollStatus::Unreachable)
        return before == PollStatus::Unreachable ? ReachChange::StillLost : ReachChange::Lost;
    if (before == PollStatus::Unreachable && now == PollStatus::Active) return ReachChange::Regained;
    return ReachChange::None;
}

}  // namespace timepipe::ntp
