// The time stream: a CBOR sequence (RFC 8742) of maps ("records"), each with "v": 1 and "type".
// The format is specified in man/time-stream.5. Every tool reads and writes it through this file.
//
// Writing:
//   Record r = {{"v", 1}, {"type", "sample"}, {"source", "ntp://192.0.2.1:123"}};
//   std::vector<std::byte> out;
//   if (auto ok = encode_record(r, out); !ok) log::fatalx(EX_SOFTWARE, "%s", ok.error().what.c_str());
//   write(out) ...
// (Typed records: libtime/stream/records.hpp builds `r` from a Sample or Stats.)
//
// Reading (pipes deliver partial items; feed whatever arrives):
//   StreamDecoder dec;
//   dec.feed(chunk);                  // at end of input: dec.finish();
//   for (;;) {
//       auto r = dec.next();
//       if (!r) { /* r.error().what == "byte 123: why", exit with r.error().exit_code */ }
//       if (!*r) break;               // need more input (or, after finish(), the end)
//       use(**r);
//   }
// After an error the decoder stays failed: a CBOR sequence cannot be resynchronised.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "libtime/base/error.hpp"

namespace timepipe {

// One record in memory. Keys keep the order they were read or inserted in.
using Record = nlohmann::ordered_json;

inline constexpr std::int64_t kStreamVersion = 1;
// Limits every reader enforces (man/time-stream.5): containers nested deeper than this, or a
// record longer than this many bytes, are errors. They bound memory for hostile input.
inline constexpr int kMaxNesting = 16;
inline constexpr std::size_t kMaxRecordBytes = 1 << 20;

// The rules every record obeys, wherever it comes from (CBOR, JSON lines, code): a map with an
// integer "v" equal to 1 and a non-empty text "type"; strings valid UTF-8; floats finite;
// nesting at most kMaxNesting; no byte strings as keys (nlohmann keys are always text).
// Errors name the key at fault ("\"offset\": non-finite number"), exit code EX_DATAERR.
Result<void> check_record(const Record& record);

// The record's "type", or "" when absent or not text.
std::string_view record_type(const Record& record);

// Appends the CBOR encoding of `record` to `out` (definite lengths, integers in their shortest
// form, floats as float64, keys in record order). Fails, appending nothing, if check_record does.
Result<void> encode_record(const Record& record, std::vector<std::byte>& out);
Result<std::vector<std::byte>> encode_record(const Record& record);

// Incremental reader of a CBOR sequence of records. Error texts are "byte N: why" with N the
// absolute offset (from the first byte fed) of the data item at fault; for a record that
// breaks the record rules or is cut short, the offset of the record's first byte.
class StreamDecoder {
public:
    StreamDecoder();
    ~StreamDecoder();
    StreamDecoder(StreamDecoder&&) noexcept;
    StreamDecoder& operator=(StreamDecoder&&) noexcept;

    // Appends input. Any split is fine, down to one byte at a time.
    void feed(std::span<const std::byte> chunk);
    // No more input will come: a record still incomplete is then an error.
    void finish();
    // The next complete record; nullopt when more input is needed (or the input has ended
    // cleanly after finish()); an error once and for all when the input is bad.
    Result<std::optional<Record>> next();

    // Bytes consumed by next() so far: the offset of the next record.
    std::uint64_t offset() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Decodes a whole buffer; any error (including a truncated last record) fails the lot.
Result<std::vector<Record>> decode_records(std::span<const std::byte> bytes);

}  // namespace timepipe
