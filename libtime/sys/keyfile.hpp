// Secret files, the way ssh treats private keys: written owner-only (0600) and never over an
// existing file unless asked; refused when group or others may read them.
//
//   auto text = read_private_file(path, roughtime::kMaxKeyFileSize);
//   if (!text) log::fatalx(text.error().exit_code, "%s: %s", path, text.error().what.c_str());
//   ... parse, then crypto::secure_zero(std::as_writable_bytes(std::span(*text)));
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "libtime/base/error.hpp"

namespace timepipe {

// The whole file. Fails with EX_NOINPUT (missing, not ours to read), EX_NOPERM (a mode with
// any group/other bit: "mode 0644 lets group or others read it (chmod 600 it)"), EX_DATAERR
// (not a regular file, longer than max_size), EX_IOERR. Symbolic links are followed (systemd's
// credentials are plain files; an operator may link a key into place).
Result<std::string> read_private_file(const char* path, std::size_t max_size);

// Creates `path` with mode 0600 (O_EXCL: never through a symbolic link) and writes `data`,
// then fsync. An existing file is EX_CANTCREAT "exists (--force replaces it)" unless `replace`,
// in which case it is unlinked first. Other failures: EX_CANTCREAT / EX_IOERR with strerror.
Result<void> write_private_file(const char* path, std::span<const std::byte> data, bool replace);

}  // namespace timepipe
