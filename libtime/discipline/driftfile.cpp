#include "libtime/discipline/driftfile.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace timepipe::discipline {

namespace {

bool number(std::string_view& s, double& out) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    std::size_t n = 0;
    while (n < s.size() && n < 40 && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '-' ||
                                      s[n] == '+' || s[n] == '.' || s[n] == 'e' || s[n] == 'E'))
        ++n;
    if (n == 0) return false;
    std::string text(s.substr(0, n));
    char* end = nullptr;
    out = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size() || !std::isfinite(out)) return false;
    s.remove_prefix(n);
    return true;
}

}  // namespace

Result<Drift> parse_driftfile(std::string_view text) {
    if (text.size() > 4096) return fail("larger than 4096 bytes", EX_DATAERR);
    Drift d;
    if (!number(text, d.frequency) || std::fabs(d.frequency) > 500)
        return fail("not a frequency in ppm from -500 to 500", EX_DATAERR);
    if (!number(text, d.skew) || d.skew < 0 || d.skew > 1e6)
        return fail("no skew in ppm (0 to 1000000) after the frequency", EX_DATAERR);
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n')) text.remove_prefix(1);
    if (!text.empty()) return fail("more than two numbers", EX_DATAERR);
    return d;
}

std::string format_driftfile(const Drift& drift) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "%.6f %.6f\n", drift.frequency, drift.skew);
    return buf;
}

bool drift_due(std::optional<UnixNanos> last, UnixNanos now) {
    if (!last) return true;
    return nanos_to_seconds(now - *last) >= kDriftInterval || now < *last;
}

}  // namespace timepipe::discipline
