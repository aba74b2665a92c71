#include "libtime/roughtime/sample.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "libtime/roughtime/version_set.hpp"
#include "libtime/stream/records.hpp"

namespace timepipe::roughtime {

double clock_offset(UnixNanos midpoint, UnixNanos sent, UnixNanos received) {
    // sent + (received - sent) / 2 without overflow; the difference is kept in integers.
    const UnixNanos local_mid = sent + (received - sent) / 2;
    return nanos_to_seconds(midpoint - local_mid);
}

Record sample_record(const std::string& source, const VerifiedTime& t, UnixNanos sent, UnixNanos received,
                     ChainVerdict verdict) {
    Sample s;
    s.source = source;
    s.time = received;
    s.offset = clock_offset(t.midpoint, sent, received);
    s.delay = nanos_to_seconds(std::max<std::int64_t>(0, received - sent));
    // RFC 10049 §6: RADI is the server's root dispersion; the round trip is this hop's delay,
    // counted once (no root_delay beyond it: the server is a primary reference), and nothing
    // dispersed locally in one exchange.
    s.dispersion = 0;
    s.stratum = 1;
    s.leap = 0;
    s.refid = "ROUG";
    s.poll = 0;
    s.root_dispersion = nanos_to_seconds(t.radius_ns);
    Record r = to_record(s);
    r["roughtime_version"] = std::string(short_name(t.version));
    // The keys of Sample::verified and Sample::conflict, after roughtime_version.
    r["verified"] = verdict == ChainVerdict::Consistent;
    if (verdict == ChainVerdict::Conflict) r["conflict"] = true;
    return r;
}

std::string iso8601_utc(UnixNanos t) {
    std::int64_t secs = t / kNanosPerSecond;
    std::int64_t frac = t % kNanosPerSecond;
    if (frac < 0) {
        frac += kNanosPerSecond;
        --secs;
    }
    const auto tt = static_cast<std::time_t>(secs);
    std::tm tm{};
    if (!gmtime_r(&tt, &tm)) return std::to_string(secs) + "s";
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out = buf;
    if (frac != 0) {
        char f[16];
        if (frac % 1000 == 0) std::snprintf(f, sizeof f, ".%06lld", static_cast<long long>(frac / 1000));
        else std::snprintf(f, sizeof f, ".%09lld", static_cast<long long>(frac));
        out += f;
    }
    return out + "Z";
}

}  // namespace timepipe::roughtime
