#include "libtime/base/log.hpp"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace timepipe::log {
namespace {

std::string g_program = "timepipe";
int g_verbosity = 0;

[[gnu::format(printf, 1, 0)]] void vemit(const char* fmt, va_list ap, const char* suffix) {
    // Build the whole line first so concurrent writers never interleave within it.
    char body[1024];
    std::vsnprintf(body, sizeof body, fmt, ap);
    if (suffix)
        std::fprintf(stderr, "%s: %s: %s\n", g_program.c_str(), body, suffix);
    else
        std::fprintf(stderr, "%s: %s\n", g_program.c_str(), body);
}

}  // namespace

void set_program(std::string_view name) {
    auto slash = name.rfind('/');
    g_program = std::string(slash == std::string_view::npos ? name : name.substr(slash + 1));
}
std::string_view program() { return g_program; }
void set_verbosity(int level) { g_verbosity = level; }
int verbosity() { return g_verbosity; }

void warn(const char* fmt, ...) {
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vemit(fmt, ap, std::strerror(saved));
    va_end(ap);
}

void warnx(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vemit(fmt, ap, nullptr);
    va_end(ap);
}

void fatal(int exit_code, const char* fmt, ...) {
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vemit(fmt, ap, std::strerror(saved));
    va_end(ap);
    std::exit(exit_code);
}

void fatalx(int exit_code, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vemit(fmt, ap, nullptr);
    va_end(ap);
    std::exit(exit_code);
}

void info(const char* fmt, ...) {
    if (g_verbosity < 1) return;
    va_list ap;
    va_start(ap, fmt);
    vemit(fmt, ap, nullptr);
    va_end(ap);
}

void debug(const char* fmt, ...) {
    if (g_verbosity < 2) return;
    va_list ap;
    va_start(ap, fmt);
    vemit(fmt, ap, nullptr);
    va_end(ap);
}

RateLimited::RateLimited(int burst, std::chrono::seconds interval) : burst_(burst), interval_(interval) {}

void RateLimited::warnx(const char* fmt, ...) {
    auto now = std::chrono::steady_clock::now();
    if (now - window_start_ >= interval_) {
        if (suppressed_ > 0)
            log::warnx("%llu similar messages suppressed", static_cast<unsigned long long>(suppressed_));
        window_start_ = now;
        in_window_ = 0;
        suppressed_ = 0;
    }
    if (in_window_ >= burst_) {
        ++suppressed_;
        return;
    }
    ++in_window_;
    va_list ap;
    va_start(ap, fmt);
    vemit(fmt, ap, nullptr);
    va_end(ap);
}

}  // namespace timepipe::log
