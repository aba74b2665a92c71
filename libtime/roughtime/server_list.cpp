#include "libtime/roughtime/server_list.hpp"

#include <algorithm>

#include "libtime/base/base64.hpp"

namespace timepipe::roughtime {
namespace {

using Json = nlohmann::ordered_json;

}  // namespace

namespace {

// One entry's outcome: a usable server, or a reason to skip it.
struct Entry {
    std::optional<Server> server;
    std::string skip_reason;
};

Result<std::string> string_at(const Json& obj, const char* key, const std::string& where) {
    auto it = obj.find(key);
    if (it == obj.end()) return fail(where + "." + key + ": missing");
    if (!it->is_string()) return fail(where + "." + key + ": not a string");
    return it->get<std::string>();
}

// §8.3 "version": an integer (the highest version the server speaks); older lists use names.
// nullopt: well-formed but not a version this library speaks.
std::vector<Version> all_ietf() {
    std::vector<Version> out;
    for (const auto& t : all_versions())
        if (t.version != Version::Google) out.push_back(t.version);
    return out;
}

Result<std::optional<std::vector<Version>>> parse_version(const Json& entry, const std::string& where) {
    using Hint = std::optional<std::vector<Version>>;
    auto it = entry.find("version");
    if (it == entry.end()) return Hint(all_ietf());  // pyroughtime's lists
    if (it->is_string()) {
        const auto& name = it->get_ref<const std::string&>();
        if (name == "IETF-Roughtime") return Hint(all_ietf());
        if (name == "Google-Roughtime") return Hint({Version::Google});
        return Hint();
    }
    if (!it->is_number_unsigned()) {
        if (it->is_number_integer()) return fail(where + ".version: negative");
        return fail(where + ".version: not an integer or a version name");
    }
    auto v = it->get<std::uint64_t>();
    if (v > 0xffffffffu) return fail(where + ".version: out of range");
    auto n = static_cast<std::uint32_t>(v);
    if (n == kListVersionGoogle) return Hint({Version::Google});
    if (auto known = version_from_wire(n)) return Hint({*known});
    return Hint();
}

// §8.3: base64 (RFC 4648); some older lists give 64 hex digits instead.
Result<PublicKey> parse_key(const std::string& text, const std::string& where) {
    std::optional<std::vector<std::byte>> bytes;
    if (text.size() == 2 * kPublicKeySize) bytes = hex_decode(text);
    if (!bytes) bytes = base64_decode(text);
    if (!bytes) return fail(where + ".publicKey: not base64 or hex");
    if (bytes->size() != kPublicKeySize) return fail(where + ".publicKey: not 32 bytes");
    PublicKey key{};
    std::copy(bytes->begin(), bytes->end(), key.begin());
    return key;
}

// §8.3 address objects: "protocol" udp|tcp, "address" host:port, IPv6 in [] without a zone.
Result<ServerAddress> parse_address(const Json& obj, const std::string& where) {
    if (!obj.is_object()) return fail(where + ": not an object");
    auto protocol = string_at(obj, "protocol", where);
    if (!protocol) return Unexpected<Error>{protocol.error()};
    ServerAddress out;
    if (*protocol == "udp") out.transport = Transport::udp;
    else if (*protocol == "tcp") out.transport = Transport::tcp;
    else return fail(where + ".protocol: not udp or tcp");
    auto text = string_at(obj, "address", where);
    if (!text) return Unexpected<Error>{text.error()};
    auto hp = parse_host_port(*text);
    if (!hp) return fail(where + ".address: " + hp.error().what);
    if (!hp->port) return fail(where + ".address: missing port");
    if (hp->host.find('%') != std::string::npos) return fail(where + ".address: IPv6 zone not allowed");
    out.address = std::move(*hp);
    return out;
}

Result<Entry> parse_server_entry(const Json& obj, std::size_t index) {
    std::string where = "servers[" + std::to_string(index) + "]";
    if (!obj.is_object()) return fail(where + ": not an object");
    Server s;
    s.index = index;
    auto name = string_at(obj, "name", where);
    if (!name) return Unexpected<Error>{name.error()};
    s.name = std::move(*name);

    auto version = parse_version(obj, where);
    if (!version) return Unexpected<Error>{version.error()};
    auto type = string_at(obj, "publicKeyType", where);
    if (!type) return Unexpected<Error>{type.error()};
    auto key_text = string_at(obj, "publicKey", where);
    if (!key_text) return Unexpected<Error>{key_text.error()};

    auto addrs = obj.find("addresses");
    if (addrs == obj.end()) return fail(where + ".addresses: missing");
    if (!addrs->is_array()) return fail(where + ".addresses: not an array");
    if (addrs->empty()) return fail(where + ".addresses: empty");
    for (std::size_t i = 0; i < addrs->size(); ++i) {
        auto a = parse_address((*addrs)[i], where + ".addresses[" + std::to_string(i) + "]");
        if (!a) return Unexpected<Error>{a.error()};
        s.addresses.push_back(std::move(*a));
    }

    // Well-formed so far; what this library cannot verify is skipped, not an error.
    if (*type != "ed25519")
        return Entry{std::nullopt, "publicKeyType \"" + *type + "\" not supported"};
    if (!*version) {
        const auto& v = obj["version"];
        return Entry{std::nullopt, "version " + (v.is_string() ? "\"" + v.get<std::string>() + "\"" : v.dump()) +
                                       " not supported"};
    }
    s.versions = std::move(**version);
    auto key = parse_key(*key_text, where);
    if (!key) return Unexpected<Error>{key.error()};
    s.public_key = *key;
    return Entry{std::move(s), {}};
}

// §8.3: "sources" and "reports" are https URLs.
bool is_https(const std::string& url) { return url.rfind("https://", 0) == 0 && url.size() > 8; }

}  // namespace

Result<ServerList> server_list_from_json(const Json& json) {
    if (!json.is_object()) return fail("server list: not a JSON object");
    auto servers = json.find("servers");
    if (servers == json.end()) return fail("servers: missing");
    if (!servers->is_array()) return fail("servers: not an array");
    ServerList out;
    for (std::size_t i = 0; i < servers->size(); ++i) {
        auto e = parse_server_entry((*servers)[i], i);
        if (!e) return Unexpected<Error>{e.error()};
        if (e->server) {
            out.servers.push_back(std::move(*e->server));
        } else {
            const auto& name = (*servers)[i]["name"];
            out.skipped.push_back({i, name.get<std::string>(), std::move(e->skip_reason)});
        }
    }
    if (auto it = json.find("sources"); it != json.end()) {
        if (!it->is_array()) return fail("sources: not an array");
        for (std::size_t i = 0; i < it->size(); ++i) {
            const auto& u = (*it)[i];
            std::string where = "sources[" + std::to_string(i) + "]";
            if (!u.is_string()) return fail(where + ": not a string");
            if (!is_https(u.get<std::string>())) return fail(where + ": not an https URL");
            out.sources.push_back(u.get<std::string>());
        }
    }
    if (auto it = json.find("reports"); it != json.end()) {
        if (!it->is_string()) return fail("reports: not a string");
        if (!is_https(it->get<std::string>())) return fail("reports: not an https URL");
        out.reports = it->get<std::string>();
    }
    return out;
}

Result<ServerList> parse_server_list(std::string_view json_text) {
    Json json;
    try {
        json = Json::parse(json_text);
    } catch (const Json::parse_error& e) {
        return fail("server list: byte " + std::to_string(e.byte) + ": not valid JSON");
    } catch (const Json::exception&) {  // out_of_range: a number too large for any type
        return fail("server list: not valid JSON (number out of range)");
    }
    return server_list_from_json(json);
}

Json to_json(const ServerList& list) {
    Json servers = Json::array();
    for (const auto& s : list.servers) {
        Json version = "IETF-Roughtime";
        if (s.versions.size() == 1)
            version = s.versions[0] == Version::Google ? kListVersionGoogle : to_wire(s.versions[0]);
        Json addrs = Json::array();
        for (const auto& a : s.addresses)
            addrs.push_back({{"protocol", a.transport == Transport::udp ? "udp" : "tcp"},
                             {"address", to_string(a.address)}});
        servers.push_back({{"name", s.name},
                           {"version", version},
                           {"publicKeyType", "ed25519"},
                           {"publicKey", base64_encode(s.public_key)},
                           {"addresses", std::move(addrs)}});
    }
    Json out = {{"servers", std::move(servers)}};
    if (!list.sources.empty()) out["sources"] = list.sources;
    if (list.reports) out["reports"] = *list.reports;
    return out;
}

}  // namespace timepipe::roughtime
