// libFuzzer target for the SHM segment decoder: arbitrary bytes as a struct shmTime. Nothing
// crashes; the reader agrees with decode_shm (fresh exactly when it decodes, with the same
// sample; not valid when valid is 0; bad with a reason otherwise); and a decoded sample written
// back with the mode-1 protocol decodes to itself.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "libtime/refclock/shm.hpp"

using namespace timepipe;
using namespace timepipe::refclock;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ShmTime seg = shm_from_bytes(std::as_bytes(std::span(data, size)));
    const ShmTime copy = seg;
    const auto decoded = decode_shm(copy);
    ShmReader reader;
    const auto got = reader.read(seg);
    if (copy.valid == 0) {
        check(got == ShmRead::not_valid && !decoded);
        return 0;
    }
    if (!decoded) {
        check(got == ShmRead::bad && !reader.why().empty() && decoded.error().exit_code == EX_DATAERR);
        return 0;
    }
    check(got == ShmRead::fresh && reader.sample() == *decoded);
    check(std::isfinite(decoded->offset()));  // never an overflow (UBSan would abort)
    check(reader.read(seg) == ShmRead::stale);
    ShmTime again{};
    write_shm(again, *decoded);
    const auto back = decode_shm(again);
    check(back && *back == *decoded);
    return 0;
}
