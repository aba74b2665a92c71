// The RFC 5905 parameters (§7.2, Appendix A.1.1) libtime's NTP modules share, in seconds unless
// said otherwise. Protocol numbers that belong to one module (poll exponents, packet sizes)
// stay with it.
#pragma once

#include <cstddef>

namespace timepipe::ntp {

inline constexpr double kPhi = 15e-6;              // PHI (TOLERANCE): frequency tolerance, s/s
// MINDISP as RFC 5905 §7.2's table of global parameters has it (0.005 s); the skeleton code of
// Appendix A.1.1 says 0.01 s. The normative table wins; every root distance uses this one.
inline constexpr double kMinDisp = 0.005;
inline constexpr double kMaxDispersion = 16.0;     // MAXDISP
inline constexpr double kMaxDistance = 1.5;        // MAXDIST: 1 s in the RFC, 1.5 s in ntpd (and here)
inline constexpr int kMaxStratum = 16;             // MAXSTRAT: stratum 16 means unsynchronised
inline constexpr std::size_t kFilterStages = 8;    // NSTAGE: clock filter stages (§10)

}  // namespace timepipe::ntp
