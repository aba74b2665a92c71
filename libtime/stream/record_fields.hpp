// Reading and writing the fields of a typed record, for the to_record/from_record pairs of every
// record kind (records.cpp, gps_fix.cpp, timestamp_probe.cpp): one implementation of the strict
// checks man/time-stream.5 promises, with the same messages for every kind.
//
//   RecordFields f(record, Sample::kType);
//   f.expect_type();                          // "sample: not a sample record (type \"x\")"
//   f.text("source", s.source, true);         // required, not empty
//   f.number("delay", s.delay);               // required, finite
//   f.integer("stratum", s.stratum, 0, 255);  // "sample: \"stratum\": 300 is not in 0..255"
//   if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
//
// The first fault is kept and later reads do nothing, so a from_record reads as a list of fields.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"
#include "libtime/stream/codec.hpp"

namespace timepipe {

// A record of `type` with "v", "type", "source" and "time", the keys every record starts with.
Record record_header(std::string_view type, const std::string& source, UnixNanos time);

class RecordFields {
public:
    static constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
    static constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
    static constexpr double kInf = std::numeric_limits<double>::infinity();

    RecordFields(const Record& r, std::string_view type) : r_(r), type_(type) {}

    // Refuses a record of another type before any field is read.
    void expect_type();

    // Required (plain) or optional (std::optional) fields. Integers in [lo, hi]; numbers finite
    // and at least lo; bounded numbers in [lo, hi]; texts not empty when `nonempty`.
    template <class Int>
    void integer(const char* key, Int& out, std::int64_t lo, std::int64_t hi) {
        std::int64_t i = 0;
        if (const Record* v = find(key, true); v && read_int(key, *v, i, lo, hi)) out = static_cast<Int>(i);
    }
    template <class Int>
    void integer(const char* key, std::optional<Int>& out, std::int64_t lo, std::int64_t hi) {
        std::int64_t i = 0;
        if (const Record* v = find(key, false); v && read_int(key, *v, i, lo, hi)) out = static_cast<Int>(i);
    }
    void number(const char* key, double& out, double lo = -kInf);
    void number(const char* key, std::optional<double>& out, double lo = -kInf);
    void bounded(const char* key, std::optional<double>& out, double lo, double hi);
    void text(const char* key, std::string& out, bool nonempty);
    void text(const char* key, std::optional<std::string>& out, bool nonempty);
    void boolean(const char* key, bool& out);
    void boolean(const char* key, std::optional<bool>& out);
    // A map of counter names to unsigned integers (stats records).
    void counters(const char* key, std::map<std::string, std::uint64_t>& out);
    // A required array of non-empty texts.
    void names(const char* key, std::vector<std::string>& out);

    // A fault found by a check of the caller's own, after the fields: "TYPE: \"KEY\": WHY".
    void bad(const std::string& key, const std::string& why);
    // A fault not tied to one key: "TYPE: WHY".
    void fail_with(const std::string& why);
    Result<void> result() const;

private:
    const Record* find(const char* key, bool required);
    bool read_int(const char* key, const Record& v, std::int64_t& out, std::int64_t lo, std::int64_t hi);
    bool read_number(const char* key, const Record& v, double& out, double lo);
    bool read_text(const char* key, const Record& v, std::string& out, bool nonempty);

    const Record& r_;
    std::string_view type_;
    std::optional<Error> err_;
};

}  // namespace timepipe
