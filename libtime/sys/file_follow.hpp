// What following a file by name needs from the system (tail -F; libtime/server/upstream_feed):
// which file a path names now, how long it is, and where a reader stands in it.
//
//   auto now = identify(path);                     // stat(2): follows symbolic links
//   if (now && !now->same_file(*before)) reopen(); // replaced (renamed over, re-created)
//   else if (now && now->size < *read_position(fd)) rewind(fd);   // truncated
#pragma once

#include <cstdint>

#include "libtime/base/error.hpp"

namespace timepipe {

enum class FileKind { regular, fifo, other };

struct FileIdentity {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::int64_t size = 0;
    FileKind kind = FileKind::other;
    bool same_file(const FileIdentity& o) const { return device == o.device && inode == o.inode; }
};

// stat(2) of a path, fstat(2) of an fd; strerror's text, EX_NOINPUT when missing.
Result<FileIdentity> identify(const char* path);
Result<FileIdentity> identify(int fd);
// lseek(2): the offset of the next read, or back to the start.
Result<std::int64_t> read_position(int fd);
Result<void> rewind(int fd);

}  // namespace timepipe
