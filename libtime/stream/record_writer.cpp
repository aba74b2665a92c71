#include "libtime/stream/record_writer.hpp"

#include <cstdio>
#include <vector>

#include "libtime/base/log.hpp"
#include "libtime/stream/json_lines.hpp"

namespace timepipe {

void RecordWriter::append_encoded(const Record& record) {
    if (format_ == OutputFormat::json) {
        out_ += to_json_line(record);
        return;
    }
    std::vector<std::byte> bytes;
    if (auto ok = encode_record(record, bytes); !ok)  // records built or decoded here always encode
        log::fatalx(EX_SOFTWARE, "cannot encode a record: %s", ok.error().what.c_str());
    for (auto b : bytes) out_ += static_cast<char>(b);
}

void RecordWriter::write(const Record& record, UnixNanos now) {
    if (format_ == OutputFormat::text) out_ += text_line(record, now, shown_);
    else append_encoded(record);
}

void RecordWriter::write(const Record& record, std::string_view text) {
    if (format_ == OutputFormat::text) out_ += text;
    else append_encoded(record);
}

void RecordWriter::flush() {
    if (!out_.empty() && std::fwrite(out_.data(), 1, out_.size(), stdout) != out_.size())
        log::fatal(EX_IOERR, "stdout");
    out_.clear();
    if (std::fflush(stdout) != 0) log::fatal(EX_IOERR, "stdout");
}

}  // namespace timepipe
