// A System V shared memory segment holding one ntpd SHM refclock struct (libtime/refclock/shm.hpp):
// shmget, shmat, shmdt, and nothing else. The protocol over it is refclock's.
//
//   auto seg = ShmSegment::attach(0, {.perm = 0600});   // key 0x4e545030 + unit, created if absent
//   refclock::write_shm(seg->time(), sample);
#pragma once

#include "libtime/base/error.hpp"
#include "libtime/refclock/shm.hpp"

namespace timepipe {

struct ShmAttachOptions {
    int perm = 0600;         // permission bits of a segment this call creates
    bool create = true;      // IPC_CREAT; else a missing segment is EX_UNAVAILABLE
    bool read_only = false;  // SHM_RDONLY: only for a reader that never clears `valid`
};

class ShmSegment {
public:
    // The segment of ntpd unit `unit` (0-255). Errors: EX_UNAVAILABLE (absent and !create),
    // EX_NOPERM (its permissions or owner refuse us), EX_DATAERR (it exists with a size smaller
    // than struct shmTime), EX_OSERR otherwise. Texts: "segment 0x4e545030: why".
    static Result<ShmSegment> attach(int unit, const ShmAttachOptions& options);
    // A segment nobody else can find (IPC_PRIVATE), removed when detached: for tests.
    static Result<ShmSegment> create_private();

    ShmSegment(ShmSegment&& other) noexcept;
    ShmSegment& operator=(ShmSegment&& other) noexcept;
    ShmSegment(const ShmSegment&) = delete;
    ShmSegment& operator=(const ShmSegment&) = delete;
    ~ShmSegment();

    refclock::ShmTime& time() { return *time_; }
    int id() const { return id_; }
    // Permission bits and size the kernel reports (shmctl IPC_STAT).
    Result<int> perm() const;
    Result<std::size_t> size() const;

private:
    ShmSegment(int id, refclock::ShmTime* time) : id_(id), time_(time) {}
    int id_ = -1;
    refclock::ShmTime* time_ = nullptr;
};

}  // namespace timepipe
