#include "libtime/stream/output_format.hpp"

#include <string>

#include "libtime/sys/file.hpp"

namespace timepipe {

Result<OutputFormat> parse_output_format(std::string_view name) {
    if (name == "text") return OutputFormat::text;
    if (name == "json") return OutputFormat::json;
    if (name == "cbor") return OutputFormat::cbor;
    return fail("-o: unknown output format \"" + std::string(name) + "\" (text, json or cbor)", EX_USAGE);
}

std::string_view to_string(OutputFormat format) {
    switch (format) {
    case OutputFormat::text: return "text";
    case OutputFormat::json: return "json";
    case OutputFormat::cbor: return "cbor";
    }
    return "?";
}

OutputFormat default_output_format(OutputFormat when_not_a_terminal) {
    return stdout_is_terminal() ? OutputFormat::text : when_not_a_terminal;
}

}  // namespace timepipe
