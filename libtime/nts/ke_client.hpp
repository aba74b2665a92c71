// The client side of NTS Key Establishment (RFC 8915 §4): one TLS 1.3 connection (ALPN
// "ntske/1") to the NTS-KE server, one request, one response, the session keys exported
// (§5.1: label "EXPORTER-network-time-security", context = next protocol ‖ AEAD ‖ 0 for C2S,
// 1 for S2C). Blocking, every step within the deadline; each resolved address is tried in turn.
//
//   auto r = nts_key_exchange(*parse_host_port("nts.example.net"), {});
//   if (!r) fail(r.error().what);      // "nts.example.net:4460: connection refused", ...
//   use(r->ntp_host, r->ntp_port, r->keys, r->response.cookies);
//
// This file does I/O (through libtime/sys); the rest of nts/ is pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/socket_address.hpp"
#include "libtime/nts/aead.hpp"
#include "libtime/nts/cookie.hpp"
#include "libtime/nts/ke_message.hpp"
#include "libtime/sys/resolve.hpp"
#include "libtime/sys/tls.hpp"

namespace timepipe::nts {

inline constexpr std::uint16_t kNtsKePort = 4460;
inline constexpr const char* kNtsKeAlpn = "ntske/1";
inline constexpr const char* kExporterLabel = "EXPORTER-network-time-security";

struct KeClientOptions {
    std::string ca_file;   // empty: the system's CA store
    std::string groups;    // TLS key-exchange groups; empty: OpenSSL's default
    std::chrono::nanoseconds timeout = std::chrono::seconds(5);  // the whole exchange, per address
    Family family = Family::any;
    std::vector<AeadAlgorithm> aeads{AeadAlgorithm::aes_siv_cmac_256, AeadAlgorithm::aes_siv_cmac_512};
};

struct KeResult {
    KeResponse response;    // cookies, warnings, the server's Server/Port records
    AeadAlgorithm aead = AeadAlgorithm::aes_siv_cmac_256;
    SessionKeys keys;
    std::string ntp_host;   // the Server record, else the NTS-KE host as given
    std::uint16_t ntp_port = 123;
    SocketAddress ke_address;
    TlsInfo tls;
    std::size_t request_size = 0;
    std::size_t response_size = 0;
};

// The exporter context of one direction (§5.1).
std::vector<std::byte> exporter_context(AeadAlgorithm a, bool server_to_client);

Result<KeResult> nts_key_exchange(const HostPort& server, const KeClientOptions& opt);

}  // namespace timepipe::nts
