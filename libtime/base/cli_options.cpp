#include "libtime/base/cli_options.hpp"

#include <getopt.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "libtime/base/duration.hpp"
#include "libtime/base/log.hpp"

namespace timepipe {

long int_option(const char* opt, const char* arg, long lo, long hi) {
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < lo || v > hi)
        log::fatalx(EX_USAGE, "%s: \"%s\" is not an integer from %ld to %ld", opt, arg, lo, hi);
    return v;
}

std::chrono::nanoseconds duration_option(const char* opt, const char* arg) {
    auto d = parse_duration(arg);
    if (!d) log::fatalx(EX_USAGE, "%s: bad duration \"%s\": %s", opt, arg, d.error().what.c_str());
    return *d;
}

std::chrono::nanoseconds duration_or_zero_option(const char* opt, const char* arg) {
    if (std::string_view(arg) == "0") return std::chrono::nanoseconds{0};
    return duration_option(opt, arg);
}

std::chrono::nanoseconds signed_duration_option(const char* opt, const char* arg) {
    std::string_view v = arg;
    bool negative = false;
    if (!v.empty() && (v.front() == '-' || v.front() == '+')) {
        negative = v.front() == '-';
        v.remove_prefix(1);
    }
    if (v == "0") return std::chrono::nanoseconds{0};
    auto d = parse_duration(v);
    if (!d) log::fatalx(EX_USAGE, "%s: bad duration \"%s\": %s", opt, arg, d.error().what.c_str());
    return negative ? -*d : *d;
}

bool on_off_option(const char* opt, const char* arg) {
    const std::string_view v = arg;
    if (v == "on") return true;
    if (v == "off") return false;
    log::fatalx(EX_USAGE, "%s: \"%s\" is not on or off", opt, arg);
}

int file_mode_option(const char* opt, const char* arg) {
    char* end = nullptr;
    const long m = std::strtol(arg, &end, 8);
    if (end == arg || *end != '\0' || m < 0 || m > 0777)
        log::fatalx(EX_USAGE, "%s: \"%s\" is not an octal mode from 0 to 0777", opt, arg);
    return static_cast<int>(m);
}

void getopt_failure(int c, char* const argv[]) {
    const char* name = optind > 0 ? argv[optind - 1] : "?";
    if (c == ':') log::fatalx(EX_USAGE, "%s: missing value (see -h)", name);
    if (optopt > 0 && optopt < 256) log::fatalx(EX_USAGE, "-%c: unknown option (see -h)", optopt);
    log::fatalx(EX_USAGE, "%s: unknown option (see -h)", name);
}

}  // namespace timepipe
