// libFuzzer target for the Roughtime key file parser. Whatever parses re-serialises
// (format_key_file) to a text that parses to the same seed; a failure always says why, and
// never quotes the input (which may hold the secret): no 16-hex-digit run of it appears.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "libtime/roughtime/keyfile.hpp"

using namespace timepipe::roughtime;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto seed = parse_key_file(text);
    if (!seed) {
        const std::string& why = seed.error().what;
        check(!why.empty());
        // No run of 16 hex digits from the input shows up in the message.
        for (std::size_t i = 0; i + 16 <= why.size(); ++i) {
            const std::string_view run = std::string_view(why).substr(i, 16);
            if (std::all_of(run.begin(), run.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
                check(text.find(run) == std::string_view::npos);
        }
        return 0;
    }
    const std::string again = format_key_file(*seed);
    auto back = parse_key_file(again);
    check(back.has_value());
    check(std::equal(back->span().begin(), back->span().end(), seed->span().begin()));
    return 0;
}
