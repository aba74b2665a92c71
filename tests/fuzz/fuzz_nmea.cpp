// Feeds gps-reader's whole path arbitrary bytes: the sentence splitter (split in two at an
// input-chosen point), the NMEA parser and the GPS receiver. Properties: the split never changes
// the sentences; no sentence exceeds kMaxSentence; every gps_fix and sample record written
// passes its reader's strict checks and comes back equal through CBOR.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "libtime/refclock/gps.hpp"
#include "libtime/refclock/nmea.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/gps_fix.hpp"
#include "libtime/stream/records.hpp"

using namespace timepipe;
using namespace timepipe::refclock;

namespace {

std::vector<std::string> split(std::span<const std::byte> bytes, std::size_t at) {
    SentenceSplitter s;
    std::vector<std::string> out;
    auto sink = [&](std::string_view line, UnixNanos) { out.emplace_back(line); };
    s.feed(bytes.first(at), 0, sink);
    s.feed(bytes.subspan(at), 1, sink);
    return out;
}

template <class T>
void round_trip(const T& value) {
    auto bytes = encode_record(to_record(value));
    if (!bytes) __builtin_trap();
    auto back = decode_records(*bytes);
    if (!back || back->size() != 1) __builtin_trap();
    auto again = from_record<T>((*back)[0]);
    if (!again || !(*again == value)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto bytes = std::as_bytes(std::span(data, size));
    std::size_t at = size == 0 ? 0 : data[0] % (size + 1);
    auto whole = split(bytes, 0);
    if (split(bytes, at) != whole) __builtin_trap();

    for (bool replay : {false, true}) {
        GpsConfig c;
        c.source = "gps://fuzz";
        c.lock = 1;
        c.min_satellites = data && size ? data[size - 1] % 6 : 4;
        c.not_before = 1'577'836'800LL * kNanosPerSecond;  // 2020-01-01
        c.replay = replay;
        GpsReceiver rx(c);
        UnixNanos local = 1'772'366'400LL * kNanosPerSecond;
        auto check = [](const std::vector<GpsEpoch>& epochs) {
            for (const auto& e : epochs) {
                round_trip(e.fix);
                if (e.sample) round_trip(*e.sample);
            }
        };
        for (const auto& line : whole) {
            if (line.size() > kMaxSentence) __builtin_trap();
            local += 333'000'000;
            if (auto s = parse_sentence(line)) check(rx.on_sentence(*s, local));
        }
        check(rx.finish());
    }
    return 0;
}
