// ETHTOOL_GET_TS_INFO through the SIOCETHTOOL ioctl: the bytes of the kernel's struct
// ethtool_ts_info for one interface, decoded by libtime/refclock/ts_info.hpp.
//
//   auto raw = sys::read_ts_info("lo");        // Result<std::vector<std::byte>>, 44 bytes
//   auto cfg = sys::read_hwtstamp_config("eth0");  // 12 bytes: what is enabled now
//
// Errors: "no such interface" (ENODEV) EX_NOINPUT; a driver without ethtool timestamping
// support (EOPNOTSUPP) EX_UNAVAILABLE; a name longer than IFNAMSIZ - 1 EX_USAGE; others EX_OSERR.
// Needs no privilege.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "libtime/base/error.hpp"

namespace timepipe::sys {

Result<std::vector<std::byte>> read_ts_info(std::string_view interface);

// SIOCGHWTSTAMP: the bytes of struct hwtstamp_config (flags, tx_type, rx_filter), the hardware
// timestamping enabled on the interface now (by ptp4l, chronyd's hwtimestamp, ...). Read only.
// A driver without hardware timestamping answers EOPNOTSUPP: EX_UNAVAILABLE.
Result<std::vector<std::byte>> read_hwtstamp_config(std::string_view interface);

}  // namespace timepipe::sys
