// The address of a Unix-domain socket at `path` ("PATH: not a socket path of 1-107 bytes",
// EX_USAGE, when it does not fit sun_path).
#pragma once

#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <sysexits.h>

#include "libtime/base/error.hpp"

namespace timepipe {

inline Result<sockaddr_un> unix_address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof a.sun_path)
        return fail(path + ": not a socket path of 1-" + std::to_string(sizeof a.sun_path - 1) + " bytes", EX_USAGE);
    std::memcpy(a.sun_path, path.data(), path.size());
    return a;
}

}  // namespace timepipe
