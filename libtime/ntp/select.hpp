// Source selection among several NTP sources (RFC 5905 §11.2): the intersection algorithm
// finds the truechimers, the cluster algorithm trims outliers, the best survivor is the
// system peer.
//
//   std::vector<SelectCandidate> c = ...;           // one per usable source, from its filter
//   auto sel = select_sources(c);
//   if (!sel) log::warnx("%s", to_string(sel.error()));   // e.g. "no majority agrees"
//   else use(c[sel->system_peer]);                  // indices refer to `c`
//
// Inputs are plain numbers in seconds; nothing here reads a clock.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "libtime/base/expected.hpp"
#include "libtime/ntp/constants.hpp"

namespace timepipe::ntp {

// What selection needs to know about one source (RFC 5905 §11).
struct SelectCandidate {
    double offset = 0.0;           // θ from the clock filter
    double delay = 0.0;            // δ
    double dispersion = 0.0;       // ε, already aged to now (PHI * age added)
    double jitter = 0.0;           // ψ, peer jitter
    double root_delay = 0.0;       // from the server's packet
    double root_dispersion = 0.0;  // from the server's packet
    int stratum = 1;
};

// Root distance λ = max(MINDISP, root_delay + delay) / 2 + root_dispersion + dispersion +
// jitter (RFC 5905 §11.2, A.5.5.2; ntp::kMinDisp, 5 ms, keeps a loopback interval from
// collapsing). The one implementation: the on-wire form (libtime/ntp/onwire.hpp) calls it.
double root_distance(const SelectCandidate& c);

struct SelectConfig {
    double max_distance = ntp::kMaxDistance;
    int max_stratum = ntp::kMaxStratum - 1;  // MAXSTRAT itself means unsynchronised
    std::size_t min_survivors = 3;  // NMIN: the cluster algorithm never trims below this
};

struct Selection {
    std::vector<std::size_t> truechimers;  // candidates whose interval meets the intersection
    std::vector<std::size_t> survivors;    // truechimers left by the cluster algorithm, best first
    std::size_t system_peer = 0;           // survivors.front()
    double low = 0.0;                      // the intersection interval, seconds of offset
    double high = 0.0;
};

enum class SelectError {
    NoCandidates,  // none given, or none within max_distance / max_stratum
    NoMajority,    // no interval is shared by more than half of the candidates
};
std::string_view to_string(SelectError e);

Expected<Selection, SelectError> select_sources(std::span<const SelectCandidate> candidates,
                                                const SelectConfig& config = {});

}  // namespace timepipe::ntp
