// A failed system call said one way across sys/: "CALL: what strerror says", EX_NOPERM when
// permission was refused (EACCES, EPERM), EX_OSERR otherwise.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <sysexits.h>

#include "libtime/base/error.hpp"

namespace timepipe {

inline Unexpected<Error> os_error(const char* call, int err) {
    return fail(std::string(call) + ": " + std::strerror(err), err == EACCES || err == EPERM ? EX_NOPERM : EX_OSERR);
}

// A nonblocking call that would have blocked.
inline bool is_again(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace timepipe
