// Feeds the JSON lines reader arbitrary text. Every record read must survive JSON -> record and
// record -> CBOR -> record unchanged.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "libtime/stream/json_lines.hpp"
#include "libtime/stream/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    timepipe::JsonLinesDecoder dec;
    dec.feed(std::as_bytes(std::span(data, size)));
    dec.finish();
    for (;;) {
        auto r = dec.next();
        if (!r || !*r) break;
        const timepipe::Record& rec = **r;

        std::string line = timepipe::to_json_line(rec);
        if (line.empty() || line.back() != '\n') __builtin_trap();
        line.pop_back();
        if (line.find('\n') != std::string::npos) __builtin_trap();  // one record, one line
        auto reparsed = timepipe::parse_json_line(line, 1);
        if (!reparsed || *reparsed != rec) __builtin_trap();

        auto cbor = timepipe::encode_record(rec);
        if (!cbor) __builtin_trap();  // parse_json_line checked the record rules
        auto back = timepipe::decode_records(*cbor);
        if (!back || back->size() != 1 || (*back)[0] != rec) __builtin_trap();
    }
    return 0;
}
