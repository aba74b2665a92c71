// libFuzzer target for parse_host_port: never crashes, and whatever parses survives a round trip
// through its canonical spelling. Where the host is numeric, parse_address agrees with it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "libtime/base/host_port.hpp"
#include "libtime/sys/resolve.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(static_cast<const char*>(static_cast<const void*>(data)), size);
    auto hp = timepipe::parse_host_port(text);
    if (!hp) {
        if (hp.error().what.empty() || hp.error().exit_code != EX_USAGE)
            std::abort();
        return 0;
    }
    auto again = timepipe::parse_host_port(timepipe::to_string(*hp));
    if (!again || !(*again == *hp))
        std::abort();
    // Numeric hosts: the address text we print parses back to the same address.
    if (auto a = timepipe::parse_address(hp->host, hp->port.value_or(123))) {
        auto b = timepipe::parse_address(a->address_string(), a->port());
        if (!b || !(*b == *a))
            std::abort();
    }
    return 0;
}
