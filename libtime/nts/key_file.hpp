// The cookie key file on disk (format: libtime/nts/cookie.hpp): read by nts-ke --serve and
// ntp-serve --nts-keys, rotated by nts-ke. I/O through libtime/sys, like ke_client.
//
//   auto keys = load_cookie_key_file("/var/lib/timepipe/nts-keys");   // EX_NOINPUT if missing
//   auto rotated = rotate_cookie_key_file(path, 2);                   // new current key, 2 old
#pragma once

#include <cstddef>
#include <string>

#include "libtime/base/error.hpp"
#include "libtime/nts/cookie.hpp"

namespace timepipe::nts {

// Must be owner-only (sys/keyfile: a group- or world-readable file is EX_NOPERM). Malformed:
// EX_DATAERR naming the line. The text read is zeroed once parsed.
Result<CookieKeys> load_cookie_key_file(const std::string& path);

// Adds a fresh current key and keeps `keep_old` previous ones, replacing the file in one step
// (mode 0600; a reader sees the old keys or the new). A missing file is created with one key.
Result<CookieKeys> rotate_cookie_key_file(const std::string& path, std::size_t keep_old);

}  // namespace timepipe::nts
