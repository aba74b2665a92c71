// Where a long-running reader of the time stream (clockadj) takes its records from, and reading
// it with a deadline: the system calls of that, so the tool itself holds none.
//
//   auto in = open_record_input(path);            // "" or "-": systemd's FIFO, else stdin
//   auto got = read_within(in->fd, buf, timeout_ms);   // nullopt: nothing yet; 0: end of input
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "libtime/base/error.hpp"

namespace timepipe {

struct RecordInput {
    int fd = 0;
    std::string name = "stdin";   // for messages: the path, "LISTEN_FDS" or "stdin"
};

// `path` "" : the descriptor systemd passed (sd_listen_fds(3): LISTEN_PID is ours, LISTEN_FDS 1,
// fd 3; the variables are then unset), else standard input. "-": standard input. A FIFO is
// opened read-write, so the reader holds a writer itself: a writer going away is no end of
// input, the next writer's records follow. Errors: EX_NOINPUT (missing, no permission),
// EX_IOERR, EX_USAGE (systemd passed more than one descriptor).
Result<RecordInput> open_record_input(const std::string& path);

// Waits up to `timeout_ms` (-1: for ever) for input on `fd` and reads what is there: nullopt
// when nothing came in time (or a signal interrupted the wait), 0 at the end of input.
Result<std::optional<std::size_t>> read_within(int fd, std::span<std::byte> buf, int timeout_ms);

}  // namespace timepipe
