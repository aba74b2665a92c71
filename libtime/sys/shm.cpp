#include "libtime/sys/shm.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <utility>

namespace timepipe {

namespace {

std::string key_name(key_t key) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "segment 0x%08x", static_cast<unsigned>(key));
    return buf;
}

Result<refclock::ShmTime*> attach_id(int id, const std::string& name, bool read_only) {
    void* p = ::shmat(id, nullptr, read_only ? SHM_RDONLY : 0);
    if (p == reinterpret_cast<void*>(-1)) {
        const int e = errno;
        return fail(name + ": attach: " + std::strerror(e), e == EACCES ? EX_NOPERM : EX_OSERR);
    }
    return static_cast<refclock::ShmTime*>(p);  // at least sizeof(ShmTime): shmget checked the size
}

}  // namespace

Result<ShmSegment> ShmSegment::attach(int unit, const ShmAttachOptions& options) {
    if (unit < 0 || unit > refclock::kShmMaxUnit) return fail("unit " + std::to_string(unit) + " is not 0-255", EX_USAGE);
    const key_t key = static_cast<key_t>(refclock::kShmKeyBase + unit);
    const std::string name = key_name(key);
    const int flags = (options.create ? IPC_CREAT | (options.perm & 0777) : 0);
    const int id = ::shmget(key, sizeof(refclock::ShmTime), flags);
    if (id < 0) {
        const int e = errno;
        if (e == ENOENT) return fail(name + ": does not exist (is its writer running?)", EX_UNAVAILABLE);
        if (e == EACCES) return fail(name + ": permission denied", EX_NOPERM);
        if (e == EINVAL)
            return fail(name + ": exists, smaller than struct shmTime (" + std::to_string(sizeof(refclock::ShmTime)) +
                        " bytes)");
        return fail(name + ": " + std::strerror(e), EX_OSERR);
    }
    auto t = attach_id(id, name, options.read_only);
    if (!t) return Unexpected<Error>{t.error()};
    return ShmSegment(id, *t);
}

Result<ShmSegment> ShmSegment::create_private() {
    const int id = ::shmget(IPC_PRIVATE, sizeof(refclock::ShmTime), IPC_CREAT | 0600);
    if (id < 0) return fail(std::string("private segment: ") + std::strerror(errno), EX_OSERR);
    auto t = attach_id(id, "private segment", false);
    ::shmctl(id, IPC_RMID, nullptr);  // gone once the last attachment goes
    if (!t) return Unexpected<Error>{t.error()};
    return ShmSegment(id, *t);
}

ShmSegment::ShmSegment(ShmSegment&& other) noexcept
    : id_(std::exchange(other.id_, -1)), time_(std::exchange(other.time_, nullptr)) {}

ShmSegment& ShmSegment::operator=(ShmSegment&& other) noexcept {
    if (this != &other) {
        if (time_) ::shmdt(time_);
        id_ = std::exchange(other.id_, -1);
        time_ = std::exchange(other.time_, nullptr);
    }
    return *this;
}

ShmSegment::~ShmSegment() {
    if (time_) ::shmdt(time_);
}

Result<int> ShmSegment::perm() const {
    shmid_ds ds{};
    if (::shmctl(id_, IPC_STAT, &ds) != 0) return fail(std::string("shmctl: ") + std::strerror(errno), EX_OSERR);
    return static_cast<int>(ds.shm_perm.mode & 0777);
}

Result<std::size_t> ShmSegment::size() const {
    shmid_ds ds{};
    if (::shmctl(id_, IPC_STAT, &ds) != 0) return fail(std::string("shmctl: ") + std::strerror(errno), EX_OSERR);
    return static_cast<std::size_t>(ds.shm_segsz);
}

}  // namespace timepipe
