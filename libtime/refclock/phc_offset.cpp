#include "libtime/refclock/phc_offset.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include "libtime/base/bytes.hpp"

namespace timepipe::refclock {
namespace {

constexpr std::int64_t kMaxSeconds = std::numeric_limits<std::int64_t>::max() / kNanosPerSecond - 1;


// One ptp_clock_time at `offset`, in ns.
Result<UnixNanos> time_at(std::span<const std::byte> raw, std::size_t offset) {
    std::int64_t sec = 0;
    std::memcpy(&sec, raw.data() + offset, sizeof sec);
    std::uint32_t nsec = host_u32_at(raw, offset + 8);
    if (nsec >= kNanosPerSecond) return fail("nsec " + std::to_string(nsec) + " is not below 1000000000");
    if (sec > kMaxSeconds || sec < -kMaxSeconds) return fail("sec " + std::to_string(sec) + " is out of range");
    return sec * kNanosPerSecond + nsec;
}

void put_time(std::vector<std::byte>& out, std::size_t offset, UnixNanos t) {
    std::int64_t sec = t / kNanosPerSecond;
    std::int64_t nsec = t % kNanosPerSecond;
    if (nsec < 0) { nsec += kNanosPerSecond; sec -= 1; }
    auto ns = static_cast<std::uint32_t>(nsec);
    std::memcpy(out.data() + offset, &sec, sizeof sec);
    std::memcpy(out.data() + offset + 8, &ns, sizeof ns);
}

std::size_t struct_size(PhcMethod m) {
    switch (m) {
    case PhcMethod::precise: return kPtpSysOffsetPreciseSize;
    case PhcMethod::extended: return kPtpSysOffsetExtendedSize;
    case PhcMethod::basic: return kPtpSysOffsetSize;
    }
    return 0;
}

std::string where(PhcMethod m) { return "ptp_sys_offset_" + std::string(to_string(m)); }

}  // namespace

std::string_view to_string(PhcMethod m) {
    switch (m) {
    case PhcMethod::precise: return "precise";
    case PhcMethod::extended: return "extended";
    case PhcMethod::basic: return "basic";
    }
    return "?";
}

Result<std::vector<PhcReading>> decode_sys_offset(PhcMethod method, std::span<const std::byte> raw) {
    const std::string at = where(method);
    if (raw.size() != struct_size(method))
        return fail(at + ": " + std::to_string(raw.size()) + " bytes, expected " + std::to_string(struct_size(method)));
    std::vector<PhcReading> out;
    auto read = [&](std::size_t offset) -> Result<UnixNanos> {
        auto t = time_at(raw, offset);
        if (!t) return fail(at + ": " + t.error().what);
        return t;
    };
    if (method == PhcMethod::precise) {
        auto dev = read(0);
        if (!dev) return Unexpected<Error>{dev.error()};
        auto sys = read(kPtpClockTimeSize);
        if (!sys) return Unexpected<Error>{sys.error()};
        out.push_back({*sys, *dev, *sys});
        return out;
    }
    std::uint32_t n = host_u32_at(raw, 0);
    if (n < 1 || n > kPtpMaxSamples) return fail(at + ": n_samples " + std::to_string(n) + " is not in 1..25");
    for (std::size_t i = 0; i < n; ++i) {
        // extended: ts[i][0..2]; basic: ts[2i], ts[2i+1], ts[2i+2] (neighbours shared)
        std::size_t first = 16 + (method == PhcMethod::extended ? 3 * i : 2 * i) * kPtpClockTimeSize;
        auto before = read(first);
        if (!before) return Unexpected<Error>{before.error()};
        auto phc = read(first + kPtpClockTimeSize);
        if (!phc) return Unexpected<Error>{phc.error()};
        auto after = read(first + 2 * kPtpClockTimeSize);
        if (!after) return Unexpected<Error>{after.error()};
        if (*after < *before)
            return fail(at + ": reading " + std::to_string(i) + ": system clock went back " +
                        // unsigned: the two may be as far apart as int64 allows
                        std::to_string(static_cast<std::uint64_t>(*before) - static_cast<std::uint64_t>(*after)) +
                        " ns");
        out.push_back({*before, *phc, *after});
    }
    return out;
}

Result<PhcMeasurement> choose_reading(PhcMethod method, std::span<const PhcReading> readings) {
    if (readings.empty()) return fail(where(method) + ": no readings");
    const PhcReading* best = nullptr;
    for (const auto& r : readings) {
        // Windows are differences of checked times, each below 2^63 ns in magnitude: the
        // subtraction can still overflow for hostile input, so it is done in unsigned.
        if (r.sys_after < r.sys_before) return fail(where(method) + ": a window is negative");
        if (!best || static_cast<std::uint64_t>(r.sys_after) - static_cast<std::uint64_t>(r.sys_before) <
                         static_cast<std::uint64_t>(best->sys_after) - static_cast<std::uint64_t>(best->sys_before))
            best = &r;
    }
    std::uint64_t window = static_cast<std::uint64_t>(best->sys_after) - static_cast<std::uint64_t>(best->sys_before);
    if (window > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return fail(where(method) + ": window too wide");
    PhcMeasurement m;
    m.method = method;
    m.delay_ns = static_cast<std::int64_t>(window);
    m.time = best->sys_before + m.delay_ns / 2;
    // PHC minus system clock; both within ±2^63 ns, so the difference is checked.
    if (__builtin_sub_overflow(best->phc, m.time, &m.offset_ns))
        return fail(where(method) + ": offset does not fit in 64 bits");
    m.readings = static_cast<int>(readings.size());
    return m;
}

Result<PhcMeasurement> measure_phc(const PhcQuery& query, int samples) {
    if (samples < 1 || samples > kPtpMaxSamples) return fail("samples: not in 1..25", EX_USAGE);
    for (PhcMethod m : {PhcMethod::precise, PhcMethod::extended, PhcMethod::basic}) {
        auto raw = query(m, samples);
        if (!raw) {
            if (raw.error().exit_code == EX_UNAVAILABLE) continue;
            return Unexpected<Error>{raw.error()};
        }
        auto readings = decode_sys_offset(m, *raw);
        if (!readings) return Unexpected<Error>{readings.error()};
        return choose_reading(m, *readings);
    }
    return fail("no PTP_SYS_OFFSET method is offered by this clock", EX_UNAVAILABLE);
}

Sample phc_sample(const PhcMeasurement& m, const std::string& source, std::int64_t correction_ns, int poll) {
    Sample s;
    s.source = source;
    s.time = m.time;
    // Both terms are int64 ns: their sum is taken in long double, exact to well below 1 ns
    // for any offset a clock could have.
    s.offset = static_cast<double>((static_cast<long double>(m.offset_ns) + correction_ns) / 1e9L);
    s.delay = nanos_to_seconds(m.delay_ns);
    s.dispersion = s.delay / 2;  // the reading lies somewhere in its window
    s.stratum = 0;
    s.leap = 0;
    s.refid = "PHC";
    s.poll = poll;
    return s;
}

std::vector<std::byte> encode_sys_offset(PhcMethod method, std::span<const PhcReading> readings) {
    std::vector<std::byte> out(struct_size(method));
    if (method == PhcMethod::precise) {
        if (!readings.empty()) {
            put_time(out, 0, readings[0].phc);
            put_time(out, kPtpClockTimeSize, readings[0].sys_before);
        }
        return out;
    }
    auto n = static_cast<std::uint32_t>(std::min<std::size_t>(readings.size(), kPtpMaxSamples));
    std::memcpy(out.data(), &n, sizeof n);
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t first = 16 + (method == PhcMethod::extended ? 3 * i : 2 * i) * kPtpClockTimeSize;
        put_time(out, first, readings[i].sys_before);
        put_time(out, first + kPtpClockTimeSize, readings[i].phc);
        put_time(out, first + 2 * kPtpClockTimeSize, readings[i].sys_after);
    }
    return out;
}

}  // namespace timepipe::refclock
