#include "libtime/ntp/select.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

namespace timepipe::ntp {

namespace {

struct Endpoint {
    double value;
    int type;  // -1 lower end, +1 upper end
};

}  // namespace

double root_distance(const SelectCandidate& c) {
    return std::max(kMinDisp, c.root_delay + c.delay) / 2 + c.root_dispersion +
           c.dispersion + c.jitter;
}

std::string_view to_string(SelectError e) {
    switch (e) {
    case SelectError::NoCandidates: return "no source is close enough to a reference clock";
    case SelectError::NoMajority: return "no majority of sources agrees on the time";
    }
    return "unknown selection error";
}

Expected<Selection, SelectError> select_sources(std::span<const SelectCandidate> candidates,
                                                const SelectConfig& config) {
    // RFC 5905 A.5.5.3 fit(): sources too far from a reference clock take no part.
    std::vector<std::size_t> fit;
    std::vector<double> distance(candidates.size());
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        const SelectCandidate& c = candidates[i];
        distance[i] = root_distance(c);
        if (std::isfinite(distance[i]) && std::isfinite(c.offset) &&
            distance[i] <= config.max_distance && c.stratum >= 0 && c.stratum <= config.max_stratum)
            fit.push_back(i);
    }
    if (fit.empty()) return unexpected(SelectError::NoCandidates);

    // RFC 5905 §11.2.1 intersection: each source claims the true offset lies in θ ± λ. Find the
    // smallest interval shared by n − f intervals for the fewest falsetickers f < n/2. Like
    // ntpd 4.2.6+ and chrony we count interval ends only; the RFC's extra midpoint test
    // rejects two sources that overlap but whose offsets lie outside each other's interval.
    std::vector<Endpoint> ends;
    ends.reserve(2 * fit.size());
    for (std::size_t i : fit) {
        ends.push_back({candidates[i].offset - distance[i], -1});
        ends.push_back({candidates[i].offset + distance[i], +1});
    }
    // Lower ends before upper ends at the same value: touching intervals intersect.
    std::sort(ends.begin(), ends.end(),
              [](const Endpoint& a, const Endpoint& b) { return std::tie(a.value, a.type) < std::tie(b.value, b.type); });

    const auto n = static_cast<int>(fit.size());
    double low = 0.0;
    double high = 0.0;
    bool found = false;
    for (int allow = 0; 2 * allow < n && !found; ++allow) {
        int chime = 0;
        low = std::numeric_limits<double>::infinity();
        for (const Endpoint& e : ends) {
            chime -= e.type;
            if (chime >= n - allow) {
                low = e.value;
                break;
            }
        }
        chime = 0;
        high = -std::numeric_limits<double>::infinity();
        for (auto e = ends.rbegin(); e != ends.rend(); ++e) {
            chime += e->type;
            if (chime >= n - allow) {
                high = e->value;
                break;
            }
        }
        found = low <= high;
    }
    if (!found) return unexpected(SelectError::NoMajority);

    Selection sel;
    sel.low = low;
    sel.high = high;
    for (std::size_t i : fit) {
        // Truechimer: its correctness interval meets the intersection (ntpd's clock_select).
        if (candidates[i].offset - distance[i] <= high && candidates[i].offset + distance[i] >= low)
            sel.truechimers.push_back(i);
    }

    // RFC 5905 §11.2.2 cluster: best first by merit = stratum * MAXDIST + λ, then repeatedly
    // drop the survivor with the largest selection jitter while that exceeds the smallest
    // peer jitter (dropping it could not make things better otherwise) and more than NMIN remain.
    sel.survivors = sel.truechimers;
    const auto merit = [&](std::size_t i) {
        return candidates[i].stratum * config.max_distance + distance[i];
    };
    std::stable_sort(sel.survivors.begin(), sel.survivors.end(),
                     [&](std::size_t a, std::size_t b) { return merit(a) < merit(b); });
    while (sel.survivors.size() > std::max<std::size_t>(config.min_survivors, 1)) {
        const double others = static_cast<double>(sel.survivors.size() - 1);
        double max_selection = -1.0;
        std::size_t worst = 0;
        double min_peer = std::numeric_limits<double>::infinity();
        for (std::size_t k = 0; k < sel.survivors.size(); ++k) {
            const double theta = candidates[sel.survivors[k]].offset;
            double squares = 0.0;
            for (std::size_t j : sel.survivors)
                squares += (candidates[j].offset - theta) * (candidates[j].offset - theta);
            const double selection = std::sqrt(squares / others);
            // >=: among equals drop the one with the worse merit.
            if (selection >= max_selection) {
                max_selection = selection;
                worst = k;
            }
            min_peer = std::min(min_peer, candidates[sel.survivors[k]].jitter);
        }
        if (max_selection < min_peer) break;
        sel.survivors.erase(sel.survivors.begin() + static_cast<std::ptrdiff_t>(worst));
    }
    sel.system_peer = sel.survivors.front();
    return sel;
}

}  // namespace timepipe::ntp
