// A PTP hardware clock device (/dev/ptpN): the PTP_SYS_OFFSET_PRECISE, PTP_SYS_OFFSET_EXTENDED
// and PTP_SYS_OFFSET ioctls, each returning the bytes of its kernel struct for
// libtime/refclock/phc_offset.hpp to decode. Only reads: the PHC is never adjusted here.
//
//   auto dev = PhcDevice::open("/dev/ptp0");                       // O_RDONLY
//   auto raw = dev->sys_offset_extended(10);                      // 1216 bytes
// (sys/ stands below refclock/: the tool wires these into refclock::measure_phc's query.)
//
// Errors: a missing device EX_NOINPUT, no permission EX_NOPERM, an ioctl the driver does not
// offer (EOPNOTSUPP, ENOTTY, EINVAL) EX_UNAVAILABLE, others EX_OSERR.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"

namespace timepipe::sys {

class PhcDevice {
public:
    static Result<PhcDevice> open(const std::string& path);
    PhcDevice(PhcDevice&& other) noexcept;
    PhcDevice& operator=(PhcDevice&& other) noexcept;
    PhcDevice(const PhcDevice&) = delete;
    PhcDevice& operator=(const PhcDevice&) = delete;
    ~PhcDevice();

    // struct ptp_sys_offset_precise (64 bytes): a cross-timestamp by the device.
    Result<std::vector<std::byte>> sys_offset_precise() const;
    // struct ptp_sys_offset_extended (1216 bytes) with `samples` triples (1..25).
    Result<std::vector<std::byte>> sys_offset_extended(int samples) const;
    // struct ptp_sys_offset (832 bytes) with `samples` PHC readings (1..25).
    Result<std::vector<std::byte>> sys_offset(int samples) const;

private:
    explicit PhcDevice(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace timepipe::sys
