// The ntpd shared-memory reference clock (ntpd's refclock_shm, chrony's `refclock SHM`, gpsd's
// ntpshm): the segment layout and its mode-1 count/valid protocol, pure. The segment itself is
// attached by libtime/sys/shm.hpp; here it is a ShmTime in memory given by reference, so the
// protocol is testable without shmget.
//
//   ShmTime& seg = segment.time();                  // libtime/sys/shm.hpp
//   write_shm(seg, ShmSample{...});                 // writer: valid=0, count++, fields, count++, valid=1
//   ShmReader reader;
//   auto got = reader.read(seg);                    // ShmRead::fresh with reader.sample(), or why not
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <string_view>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::refclock {

// IPC key of unit N: "NTP0" + N.
inline constexpr std::int32_t kShmKeyBase = 0x4e545030;
inline constexpr int kShmMaxUnit = 255;

// struct shmTime exactly as ntpd, gpsd (include/ntpshm.h) and chrony (refclock_shm.c) lay it
// out on this ABI: native ints and time_t, natural alignment. Never reorder or resize.
struct ShmTime {
    int mode;                       // 0: valid only; 1: count before and after must match
    int count;                      // writer bumps it before and after writing the fields
    std::time_t clockTimeStampSec;  // the reference clock's time of the sample
    int clockTimeStampUSec;
    std::time_t receiveTimeStampSec;  // the local clock's time when the sample was taken
    int receiveTimeStampUSec;
    int leap;                       // 0 none, 1 insert, 2 delete, 3 not synchronised
    int precision;                  // log2 s
    int nsamples;
    int valid;                      // 1 when the fields hold a sample not yet consumed
    unsigned clockTimeStampNSec;    // the same instants with nanoseconds (usec = nsec / 1000)
    unsigned receiveTimeStampNSec;
    int dummy[8];
};

// Permissions of a segment we create: ntpd's and gpsd's convention, units 0 and 1 owner-only
// (0600: root's, for ntpd and gpsd run as root), 2 and up anyone's (0666).
constexpr int default_shm_perm(int unit) { return unit < 2 ? 0600 : 0666; }

// One sample as the segment carries it.
struct ShmSample {
    UnixNanos clock = 0;    // reference time, ns since 1970
    UnixNanos receive = 0;  // local time of the same instant
    int leap = 0;           // 0-3
    int precision = -20;    // log2 s
    int nsamples = 0;

    double offset() const { return nanos_to_seconds(clock - receive); }
    friend bool operator==(const ShmSample&, const ShmSample&) = default;
};

// Writes `s` with the mode-1 protocol (gpsd's ntpshmwrite order): valid=0, count++, barrier,
// fields, barrier, count++, valid=1. A reader that copies while this runs sees count change.
void write_shm(ShmTime& seg, const ShmSample& s);

// What one read of a segment found.
enum class ShmRead {
    fresh,      // a new, consistent sample: ShmReader::sample()
    not_valid,  // valid is 0: nothing written yet, being written, or consumed by another reader
    stale,      // count unchanged since the last sample this reader took
    torn,       // count changed during the copy: the writer was busy, try again
    bad,        // mode not 0 or 1, or a field out of range: ShmReader::why()
};

std::string_view to_string(ShmRead r);

// Reads segments the way chrony does (refclock_shm.c): count, barrier, copy, barrier, count
// again; a torn copy (count changed, in mode 0 too: only a writer racing us changes it) or an
// invalid one is discarded. Nanoseconds are
// used when they agree with the microseconds (nsec / 1000 == usec), as chrony does, else the
// microseconds. With `clear` the reader consumes the sample (valid = 0, ntpd and chrony do);
// without it the reader only looks (as ntpshmmon does) and knows a sample it has seen by its count.
class ShmReader {
public:
    explicit ShmReader(bool clear = false) : clear_(clear) {}

    // `during_copy` (tests only) runs between the first count and the copy: a writer racing in.
    ShmRead read(ShmTime& seg, void (*during_copy)(ShmTime&) = nullptr);
    const ShmSample& sample() const { return sample_; }
    std::string_view why() const { return why_; }

private:
    bool clear_;
    bool have_count_ = false;
    int last_count_ = 0;
    ShmSample sample_;
    std::string why_;
};

// Checks and converts a copy already taken (mode, valid, microsecond and nanosecond ranges,
// clock minus receive within int64 nanoseconds, leap 0-3). Errors name the field: "clockTimeStampUSec: 1000000 is not 0-999999" (EX_DATAERR).
Result<ShmSample> decode_shm(const ShmTime& copy);

// Arbitrary bytes (a dump, a fuzzer's input) as a segment: at most sizeof(ShmTime) of them are
// copied over a zeroed ShmTime. Never reads past `bytes`.
ShmTime shm_from_bytes(std::span<const std::byte> bytes);

}  // namespace timepipe::refclock
