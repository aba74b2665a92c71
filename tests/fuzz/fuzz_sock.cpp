// libFuzzer target for chrony's SOCK datagram decoder: nothing crashes, every refusal has a
// reason, and what decodes re-encodes to a datagram that decodes to the same sample.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "libtime/refclock/sock.hpp"

using namespace timepipe;
using namespace timepipe::refclock;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::vector<std::byte> copy(reinterpret_cast<const std::byte*>(data),
                                      reinterpret_cast<const std::byte*>(data) + size);
    const auto s = decode_sock(copy);
    if (!s) {
        check(!s.error().what.empty() && s.error().exit_code == EX_DATAERR);
        return 0;
    }
    check(s->time % 1000 == 0 && s->leap >= 0 && s->leap <= 2);
    const auto back = decode_sock(encode_sock(*s));
    check(back && *back == *s);
    return 0;
}
