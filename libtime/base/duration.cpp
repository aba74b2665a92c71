#include "libtime/base/duration.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <string>

namespace timepipe {
namespace {

struct Unit {
    std::string_view name;
    std::int64_t ns;
};

constexpr std::array<Unit, 6> kUnits{{
    {"ns", 1},
    {"us", 1'000},
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
}};

// Fraction digits past this many are below 1e-18 of the unit (< 0.004 ns for "h"): ignored.
constexpr std::size_t kMaxFractionDigits = 18;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

Unexpected<Error> bad(std::string why) { return fail(std::move(why), EX_USAGE); }

}  // namespace

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
    using Wide = unsigned __int128;
    constexpr Wide kMax = std::numeric_limits<std::int64_t>::max();

    if (text.empty()) return bad("empty");
    if (text.front() == '-') return bad("negative");

    // Whole part: stop accumulating once it is already too long; the verdict comes below.
    std::size_t i = 0;
    Wide whole = 0;
    bool nonzero = false;  // any digit other than 0, even past kMaxFractionDigits
    for (; i < text.size() && is_digit(text[i]); ++i) {
        if (whole <= kMax) whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
        nonzero = nonzero || text[i] != '0';
    }
    const std::size_t whole_digits = i;

    Wide fraction = 0;  // the first kMaxFractionDigits digits after the point
    Wide fraction_scale = 1;
    std::size_t fraction_digits = 0;
    if (i < text.size() && text[i] == '.') {
        for (++i; i < text.size() && is_digit(text[i]); ++i, ++fraction_digits) {
            nonzero = nonzero || text[i] != '0';
            if (fraction_digits >= kMaxFractionDigits) continue;
            fraction = fraction * 10 + static_cast<unsigned>(text[i] - '0');
            fraction_scale *= 10;
        }
    }
    if (whole_digits == 0 && fraction_digits == 0) return bad("not a number");

    const std::string_view unit_name = text.substr(i);
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits)
        if (u.name == (unit_name.empty() ? "s" : unit_name)) unit = &u;
    if (unit == nullptr) return bad("unknown unit \"" + std::string(unit_name) + "\" (ns, us, ms, s, m, h)");

    // whole < 10 * 2^63 (< 2^67), fraction < 10^18 (< 2^60), unit->ns < 2^42: no product
    // overflows 128 bits.
    const Wide scale = static_cast<Wide>(unit->ns);
    const Wide ns = whole * scale + fraction * scale / fraction_scale;
    if (ns > kMax) return bad("too long (more than 292 years)");
    if (ns == 0) return bad(nonzero ? "shorter than 1ns" : "zero");
    return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

}  // namespace timepipe
