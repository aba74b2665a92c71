#include "libtime/sys/signal.hpp"

#include <cerrno>
#include <cstring>
#include <string>

namespace timepipe {

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) { g_stop = 1; }

}  // namespace

Result<void> catch_stop_signals(std::initializer_list<int> signals) {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;  // no SA_RESTART: poll returns EINTR and the loop sees the flag
    sigemptyset(&sa.sa_mask);
    for (int signo : signals)
        if (::sigaction(signo, &sa, nullptr) != 0)
            return fail(std::string("sigaction ") + ::strsignal(signo) + ": " + std::strerror(errno), EX_OSERR);
    return {};
}

const volatile std::sig_atomic_t& stop_requested() { return g_stop; }

}  // namespace timepipe
