// What the unit tests share: the seed of randomized tests, bytes written as hex, times in
// nanoseconds, strings as bytes and back, and the Roughtime test vectors.
//
//   std::mt19937_64 rng(test_seed("cidr_test"));   // prints "cidr_test: TIMEPIPE_SEED=N" once
//   auto bytes = hex("a2 61 76 01");                // spaces and newlines are ignored
//   session.feed(bytes("GET / HTTP/1.1\r\n\r\n"), kT0 + 5 * kSec);
//   auto packet = read_vector("roughenough/golden-response.phase8");     // bytes
//   auto json = read_vector_json("cloudflare/roughtime_ietf_draft08_001.json");
//
// One seed serves the whole test run: TIMEPIPE_SEED=N in the environment replays it, otherwise it
// is drawn from std::random_device. Vectors come from $TIMEPIPE_VECTORS/roughtime/, else
// ../shared/vectors/roughtime/ from the current directory; a missing one fails the test.
#pragma once

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <iterator>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

// Nanoseconds, the unit of UnixNanos and MonoNanos: a millisecond, a second, and a time for
// tests to start their clocks at (2023-11-14T22:13:20Z).
inline constexpr std::int64_t kMs = 1'000'000;
inline constexpr std::int64_t kSec = 1'000'000'000;
inline constexpr std::int64_t kT0 = 1'700'000'000 * kSec;

// The characters of `s` as bytes (a view of them), and bytes as a string.
inline std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

inline std::string text(std::span<const std::byte> b) {
    std::string out;
    out.reserve(b.size());
    for (std::byte x : b) out += static_cast<char>(x);
    return out;
}

// A copy of `s`, to compare or keep.
inline std::vector<std::byte> to_bytes(std::span<const std::byte> s) { return {s.begin(), s.end()}; }

// n bytes from a seeded generator: reproducible "random" inputs.
inline std::vector<std::byte> random_bytes(std::mt19937& rng, std::size_t n) {
    std::vector<std::byte> b(n);
    for (auto& x : b) x = std::byte(rng() & 0xFF);
    return b;
}

// Where the Roughtime test vector `rel` ("cloudflare/x.json") is.
inline std::string roughtime_vector_path(const std::string& rel) {
    const char* env = std::getenv("TIMEPIPE_VECTORS");
    return std::string(env ? env : "../shared/vectors") + "/roughtime/" + rel;
}

// A vector's contents; a missing one fails the test (naming the path) and reads as empty.
inline std::string read_vector_text(const std::string& rel) {
    const std::string path = roughtime_vector_path(rel);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ADD_FAILURE() << "cannot read test vector " << path << " (set TIMEPIPE_VECTORS)";
        return {};
    }
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::vector<std::byte> read_vector(const std::string& rel) {
    const std::string text = read_vector_text(rel);
    std::vector<std::byte> out(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) out[i] = static_cast<std::byte>(text[i]);
    return out;
}

// Parsed without exceptions: a vector that is not JSON is_discarded().
inline nlohmann::json read_vector_json(const std::string& rel) {
    return nlohmann::json::parse(read_vector_text(rel), nullptr, false);
}

}  // namespace timepipe::test
