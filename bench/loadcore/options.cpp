#include "bench/loadcore/options.hpp"

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "libtime/base/duration.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/log.hpp"
#include "libtime/sys/resolve.hpp"

namespace timepipe::bench {
namespace {

// -d and -t: libtime's durations, within [lo, hi] ns.
std::int64_t duration_or_die(const char* opt, const char* arg, std::int64_t lo, std::int64_t hi, const char* range) {
    auto d = parse_duration(arg);
    if (!d)
        log::fatalx(EX_USAGE, "%s: bad duration \"%s\": %s", opt, arg, d.error().what.c_str());
    if (d->count() < lo || d->count() > hi)
        log::fatalx(EX_USAGE, "%s: \"%s\" is not a duration %s", opt, arg, range);
    return d->count();
}

}  // namespace

std::optional<std::uint64_t> parse_count(const char* text, std::uint64_t min, std::uint64_t max) {
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || n < min || n > max)
        return std::nullopt;
    return n;
}

bool take_common_option(int c, const char* arg, LoadShape& shape, unsigned& sockets, bool& json) {
    switch (c) {
    case 'c':
        if (auto n = parse_count(arg, 1, kMaxConcurrency))
            shape.concurrency = static_cast<unsigned>(*n);
        else
            log::fatalx(EX_USAGE, "-c: \"%s\" is not a count from 1 to %u", arg, kMaxConcurrency);
        return true;
    case 'd':
        shape.duration_ns = duration_or_die("-d", arg, 1, 600 * kNanosPerSecond, "up to 600s");
        return true;
    case 'n':
        if (auto n = parse_count(arg, 1, UINT64_MAX))
            shape.requests = *n;
        else
            log::fatalx(EX_USAGE, "-n: \"%s\" is not a positive count", arg);
        return true;
    case 's':
        if (auto n = parse_count(arg, 1, kMaxSockets))
            sockets = static_cast<unsigned>(*n);
        else
            log::fatalx(EX_USAGE, "-s: \"%s\" is not a count from 1 to %u", arg, kMaxSockets);
        return true;
    case 't':
        shape.timeout_ns = duration_or_die("-t", arg, 1'000'000, 60 * kNanosPerSecond, "from 1ms to 60s");
        return true;
    case 'o':
        if (std::string_view(arg) == "json")
            json = true;
        else if (std::string_view(arg) == "text")
            json = false;
        else
            log::fatalx(EX_USAGE, "-o: unknown output format \"%s\" (text or json)", arg);
        return true;
    case kOptJson:
        json = true;
        return true;
    case 'v':
        log::set_verbosity(log::verbosity() + 1);
        return true;
    default:
        return false;
    }
}

SocketAddress resolve_target_or_die(const char* target, std::uint16_t default_port) {
    auto hp = parse_host_port(target);
    if (!hp)
        log::fatalx(hp.error().exit_code, "%s: %s", target, hp.error().what.c_str());
    if (hp->port && *hp->port == 0)
        log::fatalx(EX_USAGE, "%s: port 0", target);
    auto addrs = resolve(*hp, default_port);
    if (!addrs)
        log::fatalx(addrs.error().exit_code, "%s: %s", target, addrs.error().what.c_str());
    return addrs->front();
}

}  // namespace timepipe::bench
