// The error every non-hot-path libtime call reports: a one-line reason and the sysexits code
// a tool should exit with if it gives up because of it.
#pragma once

#include <string>
#include <sysexits.h>

#include "libtime/base/expected.hpp"

namespace timepipe {

struct Error {
    std::string what;          // "connection refused", "byte 17: truncated map"
    int exit_code = EX_DATAERR;
};

template <class T>
using Result = Expected<T, Error>;

inline Unexpected<Error> fail(std::string what, int exit_code = EX_DATAERR) {
    return Unexpected<Error>{Error{std::move(what), exit_code}};
}

}  // namespace timepipe
