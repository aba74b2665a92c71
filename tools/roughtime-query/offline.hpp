// The offline modes of roughtime-query: verify a captured exchange, check a malfeasance report.
// Both return the exit status.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "libtime/stream/output_format.hpp"
#include "libtime/roughtime/server_list.hpp"

namespace roughtime_query {

// --verify-exchange REQUEST RESPONSE PUBKEY: 0 and the verified time on stdout, or one line
// naming what failed and EX_DATAERR.
int verify_exchange(const char* request_path, const char* response_path, const char* public_key,
                    timepipe::OutputFormat format);

// --check-report FILE: 0 when the report is valid and proves malfeasance (one line per
// conflicting pair on stdout), 1 when it is valid but shows no conflict, EX_DATAERR naming the
// first failure when it is not valid. Servers found in `list` are named as it names them.
int check_report(const char* path, const std::optional<timepipe::roughtime::ServerList>& list);

// Reads a whole file (EX_NOINPUT / EX_IOERR are fatal, naming the file).
std::string read_file_or_die(const char* path);

}  // namespace roughtime_query
