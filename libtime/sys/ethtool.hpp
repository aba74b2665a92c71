// ETHTOOL_GET_TS_INFO through the SIOCETHTOOL ioctl: the bytes of the kernel's struct
// ethtool_ts_info for one interface, decoded by libtime/refclock/ts_info.hpp.
//
//   auto raw = sys::read_ts_info("lo");        // Result<std::vector<std::byte>>, 44 bytes
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

}  // namespace timepipe::sys
