// What the unit tests share: the seed of randomized tests and bytes written as hex.
//
//   std::mt19937_64 rng(test_seed("cidr_test"));   // prints "cidr_test: TIMEPIPE_SEED=N" once
//   auto bytes = hex("a2 61 76 01");                // spaces and newlines are ignored
//
// One seed serves the whole test run: TIMEPIPE_SEED=N in the environment replays it, otherwise it
// is drawn from std::random_device.
#pragma once

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace timepipe::test {

// The run's seed; the first call with each `test_name` prints "test_name: TIMEPIPE_SEED=N".
inline std::uint64_t test_seed(const char* test_name) {
    static const std::uint64_t seed = [] {
        const char* env = std::getenv("TIMEPIPE_SEED");
        return env ? std::strtoull(env, nullptr, 10) : std::uint64_t{std::random_device{}()};
    }();
    static std::set<std::string> printed;
    if (printed.insert(test_name).second)
        std::printf("%s: TIMEPIPE_SEED=%llu\n", test_name, static_cast<unsigned long long>(seed));
    return seed;
}

// "24 02 06 EC" -> bytes; anything but hex digits is skipped. An odd digit count fails the test.
inline std::vector<std::byte> hex(std::string_view text) {
    std::string digits;
    for (char c : text)
        if (std::isxdigit(static_cast<unsigned char>(c))) digits += c;
    if (digits.size() % 2 != 0) ADD_FAILURE() << "hex: odd number of digits in \"" << text << "\"";
    std::vector<std::byte> out;
    for (std::size_t i = 0; i + 1 < digits.size(); i += 2)
        out.push_back(static_cast<std::byte>(std::stoul(digits.substr(i, 2), nullptr, 16)));
    return out;
}

}  // namespace timepipe::test
