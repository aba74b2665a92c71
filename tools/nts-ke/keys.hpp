// nts-ke --rotate-keys FILE: the cookie master-key file every ntp-serve --nts-keys reads.
#pragma once

#include <cstddef>
#include <string>

#include "libtime/base/error.hpp"
#include "libtime/nts/cookie.hpp"

namespace nts_ke {

// Reads the key file; EX_NOINPUT if it is missing.
timepipe::Result<timepipe::nts::CookieKeys> load_keys(const std::string& path);
// Adds a fresh current key, keeps `keep_old` previous ones, and replaces the file in one step
// (readers see the old file or the new one). A missing file is created with one key.
timepipe::Result<timepipe::nts::CookieKeys> rotate_keys(const std::string& path, std::size_t keep_old);

}  // namespace nts_ke
