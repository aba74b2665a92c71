// Signals for programs without an event loop (bench/loadgen blocks in poll()): SIGINT and
// SIGTERM raise a flag instead of ending the process. No SA_RESTART, so a blocking poll returns
// EINTR and the loop sees the flag. Programs with an EventLoop use SignalWatcher instead.
//
//   if (auto ok = catch_stop_signals(); !ok) log::fatalx(ok.error().exit_code, "%s", ...);
//   while (!stop_requested()) { ... poll ... }
#pragma once

#include <csignal>
#include <initializer_list>

#include "libtime/base/error.hpp"

namespace timepipe {

// Fails with EX_OSERR and strerror's text if sigaction does.
Result<void> catch_stop_signals(std::initializer_list<int> signals = {SIGINT, SIGTERM});

// Nonzero once one of those signals arrived.
const volatile std::sig_atomic_t& stop_requested();

}  // namespace timepipe
