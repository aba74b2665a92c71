// Feeds the WebNTP JSON line parser and the timestamp parser arbitrary bytes. Properties: errors
// are one line; an accepted line re-encodes to go-webntp's form, which parses back to the same
// reply at microsecond precision and re-encodes to the same bytes; an accepted timestamp formats
// to 6 decimals within half a microsecond of itself and parses back from that form.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "libtime/http/webntp_message.hpp"

using namespace timepipe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);

    auto reply = http::parse_json_line(in);
    if (!reply) {
        if (reply.error().what.find('\n') != std::string::npos) __builtin_trap();
    } else {
        const std::string line = http::to_json_line(*reply);
        auto back = http::parse_json_line(line);
        if (!back) __builtin_trap();
        // The parser only accepts valid UTF-8, so the id survives unchanged.
        if (back->id != reply->id || back->leap != reply->leap || back->step != reply->step) __builtin_trap();
        if (http::to_json_line(*back) != line) __builtin_trap();
    }

    auto t = http::parse_timestamp(in);
    if (!t) {
        if (t.error().what.find('\n') != std::string::npos) __builtin_trap();
    } else {
        const std::string s = http::format_timestamp(*t);
        auto again = http::parse_timestamp(s);
        // Rounding near the int64 limits may leave the range: then the parser must say so.
        if (!again) {
            if (*t > -9'223'372'036'854'775'000 && *t < 9'223'372'036'854'775'000) __builtin_trap();
        } else {
            const std::int64_t diff = *again > *t ? *again - *t : *t - *again;
            if (diff > 500) __builtin_trap();
        }
    }
    return 0;
}
