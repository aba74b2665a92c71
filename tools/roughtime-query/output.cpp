#include "tools/roughtime-query/output.hpp"

#include <cstdio>

#include "libtime/stream/json_lines.hpp"
#include "libtime/base/log.hpp"

namespace roughtime_query {

namespace {

// A duration in seconds, in the unit that reads best: "5 s", "412 us", "1.25 ms", "86400 s".
std::string human_seconds(double s, bool sign) {
    const double a = s < 0 ? -s : s;
    const char* unit = "s";
    double v = s;
    if (a != 0 && a < 1e-3) {
        v = s * 1e6;
        unit = "us";
    } else if (a != 0 && a < 1) {
        v = s * 1e3;
        unit = "ms";
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, sign ? "%+.6g %s" : "%.6g %s", v, unit);
    return buf;
}

}  // namespace

std::string text_line(const std::string& name, const Answer& a) {
    const double delay = nanos_to_seconds(a.received - a.sent);
    const double offset = roughtime::clock_offset(a.time.midpoint, a.sent, a.received);
    return name + "  " + roughtime::iso8601_utc(a.time.midpoint) + "  ±" +
           human_seconds(nanos_to_seconds(a.time.radius_ns), false) + "  rtt " + human_seconds(delay, false) +
           "  offset " + human_seconds(offset, true) + "  " + std::string(roughtime::short_name(a.time.version)) + "\n";
}

void Writer::put(const std::string& bytes) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0)
        log::fatal(EX_IOERR, "stdout");
}

void Writer::put_record(const Record& r) {
    if (format_ == OutputFormat::json) return put(to_json_line(r));
    auto bytes = encode_record(r);
    if (!bytes) log::fatalx(EX_SOFTWARE, "record: %s", bytes.error().what.c_str());
    put(std::string(static_cast<const char*>(static_cast<const void*>(bytes->data())), bytes->size()));
}

void Writer::answer(const std::string& name, const Answer& a, roughtime::ChainVerdict verdict) {
    Record r = roughtime::sample_record(a.source, a.time, a.sent, a.received, verdict);
    if (poll_) r["poll"] = *poll_;
    if (on_record_) on_record_(r);
    if (format_ != OutputFormat::text) return put_record(r);
    if (!header_done_) put("server  time (UTC)  ±radius  round trip  offset  version\n");
    header_done_ = true;
    std::string line = text_line(name, a);
    if (verdict == roughtime::ChainVerdict::Conflict) line.insert(line.size() - 1, "  CONFLICT");
    put(line);
}

void Writer::conflict(const std::string& earlier_name, const std::string& later_name, const RoughtimeConflict& c) {
    const Record r = to_record(c);
    if (on_record_) on_record_(r);
    if (format_ != OutputFormat::text) return put_record(r);
    put("conflict: " + earlier_name + " (response " + std::to_string(c.earlier_step) + ") is ahead of " +
        later_name + " (response " + std::to_string(c.later_step) + ") by " + human_seconds(c.excess, false) +
        " beyond both radii\n");
}

}  // namespace roughtime_query
