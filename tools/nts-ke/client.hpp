// nts-ke HOST[:PORT]: one key exchange, and what a person debugging NTS wants to see of it.
#pragma once

#include "libtime/base/host_port.hpp"
#include "libtime/nts/ke_client.hpp"
#include "libtime/stream/output_format.hpp"

namespace nts_ke {

// Runs the exchange and prints it; returns the exit status (0, or the error's sysexits code).
int run_client(const timepipe::HostPort& server, const timepipe::nts::KeClientOptions& opt,
               timepipe::OutputFormat format);

}  // namespace nts_ke
