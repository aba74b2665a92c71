// libFuzzer target for parse_duration: nothing crashes, every failure has a reason and EX_USAGE,
// and whatever parses is at least 1 ns and round-trips through "Nns" and "S.NNNNNNNNN".
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "libtime/base/duration.hpp"

using namespace timepipe;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(data, data + size);  // copy: reads past `size` would be caught
    auto d = parse_duration(text);
    if (!d) {
        check(!d.error().what.empty() && d.error().exit_code == EX_USAGE);
        return 0;
    }
    const std::int64_t ns = d->count();
    check(ns >= 1);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%" PRId64 "ns", ns);
    auto again = parse_duration(buf);
    check(again && *again == *d);
    std::snprintf(buf, sizeof buf, "%" PRId64 ".%09" PRId64, ns / 1'000'000'000, ns % 1'000'000'000);
    again = parse_duration(buf);
    check(again && *again == *d);
    return 0;
}
