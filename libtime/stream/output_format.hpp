// The `-o text|json|cbor` choice every tool offers (DEVELOPERS.md, man/time-stream.5).
//
//   OutputFormat fmt = default_output_format();            // text on a terminal, else CBOR
//   case 'o':
//       if (auto f = parse_output_format(optarg)) fmt = *f;
//       else log::fatalx(EX_USAGE, "%s", f.error().what.c_str());
#pragma once

#include <string_view>

#include "libtime/base/error.hpp"

namespace timepipe {

enum class OutputFormat { text, json, cbor };

// "text", "json" or "cbor"; otherwise an EX_USAGE error "-o: unknown output format "x"
// (text, json or cbor)".
Result<OutputFormat> parse_output_format(std::string_view name);

std::string_view to_string(OutputFormat format);

// Text on a terminal (stdout_is_terminal() in libtime/sys/file.hpp), `when_not_a_terminal` otherwise
// (CBOR for producers; timecat passes json).
OutputFormat default_output_format(OutputFormat when_not_a_terminal = OutputFormat::cbor);

}  // namespace timepipe
