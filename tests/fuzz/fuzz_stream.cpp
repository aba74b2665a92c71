// Feeds the stream decoder arbitrary bytes, split in two at an input-chosen point. Properties:
// the split never changes the outcome, and every record decoded re-encodes to CBOR that decodes
// to an equal record and re-encodes to the same bytes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "libtime/stream/codec.hpp"

using timepipe::Record;

namespace {

struct Outcome {
    std::vector<Record> records;
    std::string error;
};

Outcome drain(timepipe::StreamDecoder& dec, Outcome o) {
    for (;;) {
        auto r = dec.next();
        if (!r) { o.error = r.error().what; return o; }
        if (!*r) return o;
        o.records.push_back(std::move(**r));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto bytes = std::as_bytes(std::span(data, size));

    Outcome whole;
    {
        timepipe::StreamDecoder dec;
        dec.feed(bytes);
        dec.finish();
        whole = drain(dec, {});
    }
    Outcome split;
    {
        std::size_t at = size == 0 ? 0 : data[size / 2] % (size + 1);
        timepipe::StreamDecoder dec;
        dec.feed(bytes.first(at));
        split = drain(dec, {});
        if (split.error.empty()) {
            dec.feed(bytes.subspan(at));
            dec.finish();
            split = drain(dec, std::move(split));
        }
    }
    if (split.error != whole.error || split.records != whole.records) __builtin_trap();

    for (const Record& r : whole.records) {
        auto encoded = timepipe::encode_record(r);
        if (!encoded) __builtin_trap();  // decoded records always satisfy the record rules
        auto back = timepipe::decode_records(*encoded);
        if (!back || back->size() != 1 || (*back)[0] != r) __builtin_trap();
        auto again = timepipe::encode_record((*back)[0]);
        if (!again || *again != *encoded) __builtin_trap();
    }
    return 0;
}
