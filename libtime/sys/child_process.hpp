// A child process fed through its standard input and read from its standard output (clocksim's
// discipline). Blocking writes, reads with a timeout; SIGPIPE must be ignored by the caller.
//
//   auto c = ChildProcess::spawn({"discipline", "-v"});     // execvp: PATH is searched
//   c->write_all(bytes);
//   auto n = c->read_some(buf, std::chrono::seconds(30));   // 0 at end of file; EX_UNAVAILABLE on timeout
//   c->close_input(); int status = c->wait();
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <sys/types.h>
#include <vector>

#include "libtime/base/error.hpp"

namespace timepipe {

class ChildProcess {
public:
    // Fails with EX_OSERR (pipe, fork) or EX_UNAVAILABLE ("cannot run: No such file or directory",
    // reported after the exec failed in the child).
    static Result<ChildProcess> spawn(const std::vector<std::string>& argv);

    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&&) = delete;
    ChildProcess(const ChildProcess&) = delete;
    ~ChildProcess();  // closes the pipes, kills the child if still running, reaps it

    Result<void> write_all(std::span<const std::byte> bytes);
    Result<std::size_t> read_some(std::span<std::byte> into, std::chrono::milliseconds timeout);
    void close_input();
    // Waits for the child: its exit status as a text ("exited with 3", "killed by signal 9").
    std::string wait();
    // The same, but a child still running after `grace` is sent SIGTERM first (never a hang).
    std::string wait_or_kill(std::chrono::milliseconds grace);

private:
    ChildProcess() = default;
    pid_t pid_ = -1;
    int in_ = -1, out_ = -1;
};

// Whether `path` names an executable file (access X_OK).
bool is_executable(const std::string& path);

}  // namespace timepipe
