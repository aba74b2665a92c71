#include "libtime/refclock/sock.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

namespace timepipe::refclock {

namespace {

// Field offsets of struct sock_sample (native byte order, as chrony reads it).
constexpr std::size_t kTvSec = 0, kTvUsec = 8, kOffset = 16, kPulse = 24, kLeap = 28, kPad = 32, kMagic = 36;
static_assert(sizeof(std::int64_t) == 8 && sizeof(double) == 8 && sizeof(std::int32_t) == 4);
#if defined(__x86_64__) || defined(__aarch64__)
static_assert(sizeof(long) == 8, "struct timeval holds two longs");
#endif

template <class T>
void put(std::array<std::byte, kSockSampleSize>& out, std::size_t at, T v) {
    std::memcpy(out.data() + at, &v, sizeof v);
}

template <class T>
T get(std::span<const std::byte> in, std::size_t at) {
    T v;
    std::memcpy(&v, in.data() + at, sizeof v);
    return v;
}

}  // namespace

std::array<std::byte, kSockSampleSize> encode_sock(const SockSample& s) {
    std::int64_t sec = s.time / kNanosPerSecond, frac = s.time % kNanosPerSecond;
    if (frac < 0) {
        frac += kNanosPerSecond;
        --sec;
    }
    std::array<std::byte, kSockSampleSize> out{};
    put<std::int64_t>(out, kTvSec, sec);
    put<std::int64_t>(out, kTvUsec, frac / 1000);
    put<double>(out, kOffset, s.offset);
    put<std::int32_t>(out, kPulse, s.pulse ? 1 : 0);
    put<std::int32_t>(out, kLeap, s.leap);
    put<std::int32_t>(out, kPad, 0);
    put<std::int32_t>(out, kMagic, kSockMagic);
    return out;
}

Result<SockSample> decode_sock(std::span<const std::byte> d) {
    if (d.size() != kSockSampleSize)
        return fail("length " + std::to_string(d.size()) + ", not " + std::to_string(kSockSampleSize));
    if (get<std::int32_t>(d, kMagic) != kSockMagic) return fail("magic: not 0x534f434b");
    const auto sec = get<std::int64_t>(d, kTvSec);
    const auto usec = get<std::int64_t>(d, kTvUsec);
    if (usec < 0 || usec > 999'999) return fail("tv_usec: " + std::to_string(usec) + " is not 0-999999");
    if (sec > 9'000'000'000 || sec < -9'000'000'000) return fail("tv_sec: " + std::to_string(sec) + " is out of range");
    const double offset = get<double>(d, kOffset);
    if (!std::isfinite(offset)) return fail("offset: not a finite number");
    const auto leap = get<std::int32_t>(d, kLeap);
    if (leap < 0 || leap > 2) return fail("leap: " + std::to_string(leap) + " is not 0-2");
    return SockSample{sec * kNanosPerSecond + usec * 1000, offset, get<std::int32_t>(d, kPulse) != 0, leap};
}

}  // namespace timepipe::refclock
