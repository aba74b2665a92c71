#include "libtime/refclock/shm.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <type_traits>

namespace timepipe::refclock {

static_assert(std::is_standard_layout_v<ShmTime> && std::is_trivially_copyable_v<ShmTime>);
#if defined(__x86_64__) || defined(__aarch64__)
// The layout every 64-bit Linux peer uses (gpsd's ntpshm.h, chrony's refclock_shm.c).
static_assert(sizeof(ShmTime) == 96 && offsetof(ShmTime, clockTimeStampSec) == 8 &&
              offsetof(ShmTime, receiveTimeStampSec) == 24 && offsetof(ShmTime, valid) == 48 &&
              offsetof(ShmTime, clockTimeStampNSec) == 52 && offsetof(ShmTime, dummy) == 60);
#endif

namespace {

// Every access to the segment goes through volatile: another process changes it under us, and
// the compiler must neither cache nor reorder these loads and stores across the fences.
template <class T>
T load(const T& x) { return *static_cast<const volatile T*>(&x); }
template <class T>
void store(T& x, T v) { *static_cast<volatile T*>(&x) = v; }

void barrier() { std::atomic_thread_fence(std::memory_order_seq_cst); }

ShmTime copy_fields(const ShmTime& seg) {
    ShmTime t{};
    t.mode = load(seg.mode);
    t.count = load(seg.count);
    t.clockTimeStampSec = load(seg.clockTimeStampSec);
    t.clockTimeStampUSec = load(seg.clockTimeStampUSec);
    t.receiveTimeStampSec = load(seg.receiveTimeStampSec);
    t.receiveTimeStampUSec = load(seg.receiveTimeStampUSec);
    t.leap = load(seg.leap);
    t.precision = load(seg.precision);
    t.nsamples = load(seg.nsamples);
    t.valid = load(seg.valid);
    t.clockTimeStampNSec = load(seg.clockTimeStampNSec);
    t.receiveTimeStampNSec = load(seg.receiveTimeStampNSec);
    return t;
}

// Seconds beyond this would overflow int64 nanoseconds (year 2262).
constexpr std::int64_t kMaxSampleSeconds = 9'000'000'000;

Result<UnixNanos> instant(const char* name, std::time_t sec, int usec, unsigned nsec) {
    const std::string field(name);
    if (sec > kMaxSampleSeconds || sec < -kMaxSampleSeconds)
        return fail(field + "Sec: " + std::to_string(sec) + " is out of range");
    if (usec < 0 || usec > 999'999)
        return fail(field + "USec: " + std::to_string(usec) + " is not 0-999999");
    // Writers without nanoseconds leave the field 0 (or garbage): trust it only when it agrees.
    const std::int64_t frac = nsec <= 999'999'999u && nsec / 1000 == static_cast<unsigned>(usec)
                                  ? static_cast<std::int64_t>(nsec)
                                  : static_cast<std::int64_t>(usec) * 1000;
    return static_cast<std::int64_t>(sec) * kNanosPerSecond + frac;
}

void split(UnixNanos ns, std::time_t& sec, int& usec, unsigned& nsec) {
    std::int64_t s = ns / kNanosPerSecond, frac = ns % kNanosPerSecond;
    if (frac < 0) {
        frac += kNanosPerSecond;
        --s;
    }
    sec = static_cast<std::time_t>(s);
    usec = static_cast<int>(frac / 1000);
    nsec = static_cast<unsigned>(frac);
}

}  // namespace

void write_shm(ShmTime& seg, const ShmSample& s) {
    ShmTime f{};
    split(s.clock, f.clockTimeStampSec, f.clockTimeStampUSec, f.clockTimeStampNSec);
    split(s.receive, f.receiveTimeStampSec, f.receiveTimeStampUSec, f.receiveTimeStampNSec);
    store(seg.mode, 1);
    store(seg.valid, 0);
    store(seg.count, load(seg.count) + 1);
    barrier();
    store(seg.clockTimeStampSec, f.clockTimeStampSec);
    store(seg.clockTimeStampUSec, f.clockTimeStampUSec);
    store(seg.clockTimeStampNSec, f.clockTimeStampNSec);
    store(seg.receiveTimeStampSec, f.receiveTimeStampSec);
    store(seg.receiveTimeStampUSec, f.receiveTimeStampUSec);
    store(seg.receiveTimeStampNSec, f.receiveTimeStampNSec);
    store(seg.leap, s.leap);
    store(seg.precision, s.precision);
    store(seg.nsamples, s.nsamples);
    barrier();
    store(seg.count, load(seg.count) + 1);
    barrier();
    store(seg.valid, 1);
}

std::string_view to_string(ShmRead r) {
    switch (r) {
    case ShmRead::fresh: return "fresh";
    case ShmRead::not_valid: return "not valid";
    case ShmRead::stale: return "stale";
    case ShmRead::torn: return "torn";
    case ShmRead::bad: return "bad";
    }
    return "?";
}

Result<ShmSample> decode_shm(const ShmTime& t) {
    if (t.mode != 0 && t.mode != 1) return fail("mode: " + std::to_string(t.mode) + " is not 0 or 1");
    if (t.valid == 0) return fail("valid: 0, no sample");
    auto clock = instant("clockTimeStamp", t.clockTimeStampSec, t.clockTimeStampUSec, t.clockTimeStampNSec);
    if (!clock) return Unexpected<Error>{clock.error()};
    auto receive = instant("receiveTimeStamp", t.receiveTimeStampSec, t.receiveTimeStampUSec, t.receiveTimeStampNSec);
    if (!receive) return Unexpected<Error>{receive.error()};
    std::int64_t difference = 0;  // offset() must not overflow
    if (__builtin_sub_overflow(*clock, *receive, &difference))
        return fail("clockTimeStamp: too far from receiveTimeStamp");
    if (t.leap < 0 || t.leap > 3) return fail("leap: " + std::to_string(t.leap) + " is not 0-3");
    if (t.precision < -128 || t.precision > 127)
        return fail("precision: " + std::to_string(t.precision) + " is not -128..127");
    return ShmSample{*clock, *receive, t.leap, t.precision, t.nsamples};
}

ShmRead ShmReader::read(ShmTime& seg, void (*during_copy)(ShmTime&)) {
    const int before = load(seg.count);
    barrier();
    if (during_copy) during_copy(seg);
    const ShmTime copy = copy_fields(seg);
    barrier();
    const int after = load(seg.count);
    why_.clear();
    if (copy.valid == 0) return ShmRead::not_valid;
    // chrony checks the count in mode 1 only. We check it in both: a mode-0 writer never
    // touches it, and a copy begun on a fresh segment (mode still 0) while a mode-1 writer
    // starts would otherwise pass with fields of two states (tests/unit/refclock/shm_test.cpp).
    if (before != after || copy.count != before) return ShmRead::torn;
    auto s = decode_shm(copy);
    if (!s) {
        why_ = s.error().what;
        return ShmRead::bad;
    }
    if (have_count_ && after == last_count_ && *s == sample_) return ShmRead::stale;
    if (clear_) store(seg.valid, 0);
    have_count_ = true;
    last_count_ = after;
    sample_ = *s;
    return ShmRead::fresh;
}

ShmTime shm_from_bytes(std::span<const std::byte> bytes) {
    ShmTime t{};
    if (!bytes.empty()) std::memcpy(&t, bytes.data(), std::min(bytes.size(), sizeof t));
    return t;
}

}  // namespace timepipe::refclock
