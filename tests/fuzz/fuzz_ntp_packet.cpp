// libFuzzer target for the NTP packet codec. Whatever parses must re-serialise to the very same
// octets and parse again to the same header, under both extension-field rule sets.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "libtime/ntp/packet.hpp"

using namespace timepipe::ntp;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void round_trip(std::span<const std::byte> in, ExtensionRules rules) {
    auto p = parse(in, rules);
    if (!p) {
        check(!to_string(p.error()).empty());
        return;
    }
    const std::vector<ExtensionField> fields(p->extensions.begin(), p->extensions.end());
    std::vector<std::byte> out(in.size());
    auto n = serialize(p->header, fields, p->mac, out, rules);
    check(n.has_value());
    check(*n == in.size());
    check(std::equal(in.begin(), in.end(), out.begin()));

    auto again = parse(out, rules);
    check(again.has_value());
    check(again->header == p->header);
    check(again->extensions.count() == fields.size());
    check(again->mac.has_value() == p->mac.has_value());

    // Exercise the helpers a server or client calls on a parsed header.
    (void)is_kiss_of_death(p->header);
    (void)classify_kiss(p->header.refid);
    check(!refid_to_string(p->header.refid, p->header.stratum).empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::byte> in(size);
    for (std::size_t i = 0; i < size; ++i) in[i] = static_cast<std::byte>(data[i]);
    round_trip(in, ExtensionRules::Rfc7822);
    round_trip(in, ExtensionRules::Nts);
    return 0;
}
