// ntp-query's output: sample records as an ntpq-style table (with tally codes), JSON lines or
// CBOR, flushed record by record so a pipe sees each sample as it comes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "libtime/stream/output_format.hpp"
#include "libtime/stream/records.hpp"

namespace ntp_query {

class Writer {
public:
    explicit Writer(timepipe::OutputFormat format) : format_(format) {}
    // `tally` is the ntpq tally code shown before the remote in text ('*', '+', '-', 'x', ' ').
    void sample(const timepipe::Sample& s, char tally = ' ');

private:
    timepipe::OutputFormat format_;
    bool header_done_ = false;
};

// ntpq's tally codes from RFC 5905 selection over the sources' best samples: '*' system peer,
// '+' survivor, '-' truechimer trimmed by clustering, 'x' falseticker, ' ' not fit to select
// (too far, unsynchronised) or no sample. Empty result: selection found no majority.
std::vector<char> tally_codes(const std::vector<std::optional<timepipe::Sample>>& best, std::string* why);

}  // namespace ntp_query
