// Roughtime server lists (RFC 10049 §8.3, "application/roughtime-server+json") and the older
// ecosystem.json files that came before it (base64 and hex: libtime/base/base64.hpp).
//
//   auto list = roughtime::parse_server_list(text);          // text: the whole JSON document
//   if (!list) log::fatalx(list.error().exit_code, "%s: %s", path, list.error().what.c_str());
//   for (const auto& s : list->servers) query(s.public_key, s.versions, s.addresses);
//   for (const auto& k : list->skipped) log::warnx("%s: %s", path, k.reason.c_str());
//
// Accepted beyond the RFC's form: "version" as a string ("IETF-Roughtime", "Google-Roughtime")
// or absent (IETF assumed), and "publicKey" as 64 hex digits instead of base64. A server whose
// key type or version this library cannot verify (e.g. "ml-dsa-44") is not an error: it lands in
// `skipped` with the reason. Anything malformed is an error naming the JSON path at fault:
// "servers[2].publicKey: not 32 bytes" (EX_DATAERR). Unknown keys are ignored. Pure: no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "libtime/base/base64.hpp"
#include "libtime/base/error.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/roughtime/version.hpp"

namespace timepipe::roughtime {

// --- the list ---------------------------------------------------------------------------------

// A list's "version" is the highest version the server speaks (§8.3); lists before the RFC give
// a name, or nothing. The number lists use for pre-IETF Google-Roughtime (draft-19 §8.3, note to
// the RFC editor):
inline constexpr std::uint32_t kListVersionGoogle = 3000600613;

// An Ed25519 long-term public key (the same type as crypto::PublicKey).
inline constexpr std::size_t kPublicKeySize = 32;
using PublicKey = std::array<std::byte, kPublicKeySize>;

enum class Transport { udp, tcp };

struct ServerAddress {
    Transport transport = Transport::udp;
    HostPort address;  // port always present; no IPv6 zone (§8.3)
    friend bool operator==(const ServerAddress&, const ServerAddress&) = default;
};

struct Server {
    std::size_t index = 0;  // position in "servers", for messages
    std::string name;
    // What to offer (RequestParams::versions): {v} for a numeric version v; every IETF version
    // for "IETF-Roughtime" or no version; {Google} for "Google-Roughtime" or 3000600613.
    std::vector<Version> versions;
    PublicKey public_key{};  // Ed25519 long-term key
    std::vector<ServerAddress> addresses;
};

// A well-formed entry this library cannot use, and why ("publicKeyType \"ml-dsa-44\" not
// supported").
struct SkippedServer {
    std::size_t index = 0;
    std::string name;
    std::string reason;
};

struct ServerList {
    std::vector<Server> servers;
    std::vector<SkippedServer> skipped;
    std::vector<std::string> sources;   // https URLs of newer copies of the list
    std::optional<std::string> reports; // https URL for malfeasance reports (§8.4.2)
};

Result<ServerList> parse_server_list(std::string_view json_text);
Result<ServerList> server_list_from_json(const nlohmann::ordered_json& json);

// The RFC 10049 §8.3 form of a list (base64 keys; "version" numeric for one version, Google as
// kListVersionGoogle, "IETF-Roughtime" for several). parse_server_list of it gives back the same
// servers.
nlohmann::ordered_json to_json(const ServerList& list);

}  // namespace timepipe::roughtime
