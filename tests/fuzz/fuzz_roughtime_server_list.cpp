// libFuzzer target for the Roughtime server-list parser (RFC 10049 §8.3): never crashes, errors
// are EX_DATAERR with a reason, and a list that parses survives to_json -> parse unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "libtime/roughtime/server_list.hpp"

using namespace timepipe::roughtime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(static_cast<const char*>(static_cast<const void*>(data)), size);
    auto list = parse_server_list(text);
    if (!list) {
        if (list.error().what.empty() || list.error().exit_code != EX_DATAERR) std::abort();
        return 0;
    }
    auto again = parse_server_list(to_json(*list).dump());
    if (!again || again->servers.size() != list->servers.size() || again->sources != list->sources ||
        again->reports != list->reports)
        std::abort();
    for (std::size_t i = 0; i < list->servers.size(); ++i) {
        const auto& a = list->servers[i];
        const auto& b = again->servers[i];
        if (a.name != b.name || a.versions != b.versions || a.public_key != b.public_key ||
            a.addresses != b.addresses)
            std::abort();
    }
    return 0;
}
