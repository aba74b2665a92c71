// How roughtime-query writes what it learned: a sample record per verified answer (CBOR or JSON
// lines, man/time-stream.5), or on a terminal one human line each.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "libtime/stream/output_format.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"
#include "tools/roughtime-query/query.hpp"

namespace roughtime_query {

class Writer {
public:
    explicit Writer(OutputFormat format) : format_(format) {}
    // A verified answer of server `name`; with -l only once the whole chain is checked, and
    // marked when it is part of a proven conflict.
    void answer(const std::string& name, const Answer& a,
                roughtime::ChainVerdict verdict = roughtime::ChainVerdict::Consistent);
    // A proven conflict between two answers of one chain (a "roughtime_conflict" record).
    void conflict(const std::string& earlier_name, const std::string& later_name, const RoughtimeConflict& c);
    // -f: samples say this poll (log2 s) instead of 0; each record written is also given to `f`.
    void set_poll(int poll) { poll_ = poll; }
    void on_record(std::function<void(const Record&)> f) { on_record_ = std::move(f); }

private:
    void put(const std::string& bytes);
    void put_record(const Record& r);
    OutputFormat format_;
    bool header_done_ = false;
    std::optional<int> poll_;
    std::function<void(const Record&)> on_record_;
};

// "  127.0.0.1:2002  2025-05-22T20:07:30Z  ±5 s  rtt 0.4 ms  offset -0.2 ms  rfc"
std::string text_line(const std::string& name, const Answer& a);

}  // namespace roughtime_query
