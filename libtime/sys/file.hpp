// Reading files and standard input: the open/read/close that tools would otherwise call
// themselves (and isatty for the default output format). Blocking; for input the event loop
// should watch, see InputReader in libtime/sys/event_loop.hpp.
//
//   auto f = InputFile::open_read(path);        // or InputFile::standard_input()
//   if (!f) log::fatalx(f.error().exit_code, "%s: %s", path, f.error().what.c_str());
//   std::array<std::byte, 65536> buf;
//   for (;;) {
//       auto n = f->read_some(buf);                 // 0 at end of file
//       if (!n) log::fatalx(n.error().exit_code, "%s: %s", path, n.error().what.c_str());
//       if (*n == 0) break;
//       use(std::span(buf).first(*n));
//   }
//
//   auto text = read_file(path, 16 << 20);      // the whole file, or the same errors
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "libtime/base/error.hpp"

namespace timepipe {

// Whether standard output is a terminal (the one isatty call), for default_output_format().
bool stdout_is_terminal();

class InputFile {
public:
    // Fails with strerror's text: EX_NOINPUT when the file is missing or not ours to read,
    // EX_IOERR otherwise.
    static Result<InputFile> open_read(const char* path);
    // The same with O_NONBLOCK: a FIFO opens at once, without waiting for a writer.
    static Result<InputFile> open_read_nonblocking(const char* path);
    // Standard input, left open when the InputFile goes.
    static InputFile standard_input();

    InputFile(InputFile&& other) noexcept;
    InputFile& operator=(InputFile&& other) noexcept;
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;
    ~InputFile();

    // Up to into.size() bytes; 0 at end of file. Retries when a signal interrupts; fails with
    // EX_IOERR and strerror's text ("Is a directory").
    Result<std::size_t> read_some(std::span<std::byte> into);

    int fd() const { return fd_; }

private:
    InputFile(int fd, bool owned) : fd_(fd), owned_(owned) {}
    void close();

    int fd_ = -1;
    bool owned_ = false;
};

// The whole of a file, as InputFile reads it (same errors); a file larger than max_size fails
// with EX_DATAERR ("larger than 16 MiB") before more than that is read.
Result<std::string> read_file(const char* path, std::size_t max_size = SIZE_MAX);

// Replaces `path` with `content` atomically: writes PATH.tmp (mode `mode`: 0600 for secrets; never
// through a symbolic link), fsyncs it, renames it over PATH. A reader sees the old file or the new
// one, never half of one. Errors carry strerror's text (naming PATH.tmp when it is the temporary
// that failed), EX_CANTCREAT or EX_IOERR.
Result<void> write_file_atomic(const char* path, std::string_view content, unsigned mode = 0644);

// Whether `path` names a directory (following symbolic links); false when it cannot be stat'ed.
bool is_directory(const std::string& path);

}  // namespace timepipe
