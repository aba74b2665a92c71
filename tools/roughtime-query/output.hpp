// How roughtime-query writes what it learned: a sample record per verified answer (CBOR or JSON
// lines, man/time-stream.5), or on a terminal one human line each.
#pragma once

#include "libtime/stream/output_format.hpp"
#include "libtime/stream/codec.hpp"
#include "tools/roughtime-query/query.hpp"

namespace roughtime_query {

class Writer {
public:
    explicit Writer(OutputFormat format) : format_(format) {}
    // A verified answer of server `name`.
    void answer(const std::string& name, const Answer& a);

private:
    void put(const std::string& bytes);
    OutputFormat format_;
    bool header_done_ = false;
};

// "  127.0.0.1:2002  2025-05-22T20:07:30Z  ±5 s  rtt 0.4 ms  offset -0.2 ms  rfc"
std::string text_line(const std::string& name, const Answer& a);

}  // namespace roughtime_query
