// Writes records to standard output in the chosen -o format, buffered until flush(): the one
// writer of every tool that emits a stream (timecat, discipline, clockadj). A tool flushes
// when a pipe should see what it has (after each input chunk, each answer) and before it
// reports an error, so nothing written before the error is lost.
//
//   RecordWriter out(OutputFormat::cbor);
//   out.write(record, now);          // text: the table line of `record`, its age from `now`
//   out.write(record, "own text\n"); // a tool with its own text form (clockadj)
//   out.flush();                     // EX_IOERR, one line, if stdout fails
#pragma once

#include <string>
#include <string_view>

#include "libtime/base/unix_time.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/output_format.hpp"
#include "libtime/stream/sample_table.hpp"

namespace timepipe {

class RecordWriter {
public:
    explicit RecordWriter(OutputFormat format) : format_(format) {}

    // json: one line; cbor: the record's encoding; text: text_line() of it, aged from `now`.
    void write(const Record& record, UnixNanos now);
    // As above, but text is `text` as given.
    void write(const Record& record, std::string_view text);
    // Everything written so far to stdout, then fflush; exits EX_IOERR if stdout fails.
    void flush();

private:
    void append_encoded(const Record& record);

    OutputFormat format_;
    std::string out_;
    TableKind shown_ = TableKind::none;  // the table whose header is above
};

}  // namespace timepipe
