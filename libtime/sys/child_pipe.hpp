// Running a program as a filter, without a shell: `input` goes to its standard input while its
// standard output and standard error are collected (timeplot feeds gnuplot a script and takes
// the image back). One poll loop serves the three pipes, so neither side can block the other
// however much each writes.
//
//   auto r = run_filter({"gnuplot", "-d"}, script, {.max_output = 64 << 20});
//   if (!r) ...                       // EX_UNAVAILABLE "cannot run: No such file or directory"
//   if (r->exit_status != 0) ...      // r->error holds what it said on stderr
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/error.hpp"

namespace timepipe {

struct FilterLimits {
    std::size_t max_output = 64 << 20;   // more stdout than this: the child is killed, EX_IOERR
    std::size_t max_error = 64 << 10;    // stderr beyond this is read and dropped
    std::chrono::milliseconds timeout{120'000};  // the child is killed after this, EX_TEMPFAIL
};

struct FilterResult {
    std::string output;        // everything it wrote on stdout
    std::string error;         // the first max_error bytes of its stderr
    int exit_status = 0;       // its exit code; 128 + N when killed by signal N
    std::string status;        // "exited with 1", "killed by signal 9"
};

// execvp(argv[0]) (PATH is searched), stdin/stdout/stderr pipes, nothing else inherited (the
// descriptors are close-on-exec). SIGPIPE is ignored while it runs (a child that exits without
// reading its input is an ordinary failure, reported through its exit status). Errors:
// EX_UNAVAILABLE "cannot run: strerror" when exec fails (ENOENT: not installed), EX_OSERR
// (pipe, fork, poll), EX_IOERR (output beyond the limit), EX_TEMPFAIL (timeout).
Result<FilterResult> run_filter(const std::vector<std::string>& argv, std::string_view input,
                                const FilterLimits& limits = {});

}  // namespace timepipe
