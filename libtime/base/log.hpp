// Diagnostics the OpenBSD way: every message is one line "tool: subject: reason" on stderr.
//   warn   appends ": strerror(errno)"      warnx   does not
//   fatal  warn + exit(code)                fatalx  warnx + exit(code)
// Exit codes come from <sysexits.h>. Never pass a secret (key, cookie) to these functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <sysexits.h>

namespace timepipe::log {

// Set once from main(): the name that prefixes every message.
void set_program(std::string_view name);
std::string_view program();

// 0 = errors only (default), 1 = -v, 2 = -vv.
void set_verbosity(int level);
int verbosity();

[[gnu::format(printf, 1, 2)]] void warn(const char* fmt, ...);
[[gnu::format(printf, 1, 2)]] void warnx(const char* fmt, ...);
[[noreturn, gnu::format(printf, 2, 3)]] void fatal(int exit_code, const char* fmt, ...);
[[noreturn, gnu::format(printf, 2, 3)]] void fatalx(int exit_code, const char* fmt, ...);
// Printed only at verbosity >= 1 / >= 2.
[[gnu::format(printf, 1, 2)]] void info(const char* fmt, ...);
[[gnu::format(printf, 1, 2)]] void debug(const char* fmt, ...);

// For messages a remote party can provoke (bad packets): at most `burst` lines per `interval`,
// then one "N messages suppressed" line when the window reopens.
class RateLimited {
public:
    explicit RateLimited(int burst = 10, std::chrono::seconds interval = std::chrono::seconds(60));
    [[gnu::format(printf, 2, 3)]] void warnx(const char* fmt, ...);

private:
    int burst_;
    std::chrono::seconds interval_;
    std::chrono::steady_clock::time_point window_start_{};
    int in_window_ = 0;
    std::uint64_t suppressed_ = 0;
};

}  // namespace timepipe::log
