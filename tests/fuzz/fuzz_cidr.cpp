// libFuzzer target for parse_cidr / parse_ip: nothing crashes, and whatever parses round-trips
// through to_string() to the same value and contains its own network.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/server/acl.hpp"
#include "libtime/base/cidr.hpp"

using namespace timepipe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(data, data + size);  // copy: reads past `size` would be caught
    if (auto a = parse_ip(text)) {
        auto back = parse_ip(a->to_string());
        if (!back || !(*back == *a)) std::abort();
    }
    if (auto c = parse_cidr(text)) {
        auto back = parse_cidr(c->to_string());
        if (!back || !(*back == *c)) std::abort();
        if (!c->contains(c->network())) std::abort();
        const int max = c->is_v4() ? 32 : 128;
        if (c->prefix_len() < 0 || c->prefix_len() > max) std::abort();
        Acl acl(Verdict::Deny);
        acl.add(Verdict::Allow, *c);
        if (acl.check(c->network()) != Verdict::Allow) std::abort();
    }
    // Also as a raw address of 4 or 16 bytes, as it would come off a socket.
    std::vector<std::byte> raw(size);
    for (std::size_t i = 0; i < size; ++i) raw[i] = std::byte{data[i]};
    if (auto a = IpAddress::from_bytes(raw)) {
        auto back = parse_ip(a->to_string());
        if (!back || !(*back == *a)) std::abort();
    }
    return 0;
}
