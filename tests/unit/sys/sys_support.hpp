// What the sys tests share: the value of a Result that must be there, a watchdog that fails a
// test whose event loop would otherwise run forever, and a temporary file with given contents.
//
//   auto loop = must(EventLoop::create());
//   Watchdog dog(loop, 5000ms);                       // 30 s unless told
//   auto f = InputFile::open_read(temp_file("0123456789"));
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <utility>

#include <sys/types.h>
#include <unistd.h>

#include "libtime/base/error.hpp"
#include "libtime/sys/event_loop.hpp"

namespace timepipe::test {

// The value of `r`. Without one the test fails with the error, and value() throws.
template <class T>
T must(Result<T> r) {
    if (!r)
        ADD_FAILURE() << r.error().what;
    return std::move(r).value();
}

// Stops the loop if a test would otherwise hang, and fails it.
struct Watchdog {
    explicit Watchdog(EventLoop& loop, std::chrono::milliseconds after = std::chrono::seconds(30))
        : timer(must(Timer::create(loop, [&loop] {
              ADD_FAILURE() << "watchdog fired";
              loop.stop();
          }))) {
        timer.start(after);
    }
    Timer timer;
};

// The path of a new file in the tests' temporary directory that holds `content`.
inline std::string temp_file(const std::string& content) {
    std::string path = ::testing::TempDir() + "sys_test.XXXXXX";
    const int fd = ::mkstemp(path.data());
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ::close(fd);
    return path;
}

}  // namespace timepipe::test
