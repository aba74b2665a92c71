#include "tools/nts-ke/client.hpp"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include "libtime/base/log.hpp"

namespace nts_ke {

using namespace timepipe;
using namespace timepipe::nts;

namespace {

std::string utc_text(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

std::string host_text(const std::string& host, std::uint16_t port) {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

nlohmann::json to_json(const HostPort& server, const KeResult& r) {
    nlohmann::json j;
    j["server"] = to_string(server);
    j["address"] = r.ke_address.to_string();
    j["tls"] = {{"version", r.tls.version}, {"cipher", r.tls.cipher}, {"group", r.tls.group}, {"alpn", r.tls.alpn}};
    nlohmann::json cert = {{"subject", r.tls.peer_subject}, {"issuer", r.tls.peer_issuer}};
    cert["not_after"] = r.tls.peer_not_after ? nlohmann::json(*r.tls.peer_not_after) : nlohmann::json(nullptr);
    j["certificate"] = cert;
    j["aead"] = std::string(aead_name(r.aead));
    j["aead_id"] = static_cast<int>(r.aead);
    j["ntp_server"] = r.ntp_host;
    j["ntp_port"] = r.ntp_port;
    nlohmann::json sizes = nlohmann::json::array();
    for (const auto& c : r.response.cookies) sizes.push_back(c.size());
    j["cookies"] = r.response.cookies.size();
    j["cookie_sizes"] = sizes;
    j["warnings"] = r.response.warnings;
    j["request_octets"] = r.request_size;
    j["response_octets"] = r.response_size;
    return j;
}

}  // namespace

int run_client(const HostPort& server, const KeClientOptions& opt, OutputFormat format) {
    auto r = nts_key_exchange(server, opt);
    if (!r) log::fatalx(r.error().exit_code, "%s", r.error().what.c_str());  // it names the address
    if (format != OutputFormat::text) {
        std::printf("%s\n", to_json(server, *r).dump().c_str());
        return 0;
    }
    std::printf("NTS-KE server  %s (%s)\n", to_string(server).c_str(), r->ke_address.to_string().c_str());
    std::printf("TLS            %s %s, group %s, ALPN %s\n", r->tls.version.c_str(), r->tls.cipher.c_str(),
                r->tls.group.empty() ? "-" : r->tls.group.c_str(), r->tls.alpn.c_str());
    std::printf("certificate    %s, issued by %s", r->tls.peer_subject.c_str(), r->tls.peer_issuer.c_str());
    if (r->tls.peer_not_after) std::printf(", expires %s", utc_text(*r->tls.peer_not_after).c_str());
    std::printf("\n");
    std::printf("AEAD           %s (%d)\n", std::string(aead_name(r->aead)).c_str(), static_cast<int>(r->aead));
    std::printf("NTP server     %s%s\n", host_text(r->ntp_host, r->ntp_port).c_str(),
                r->response.server || r->response.port ? "" : " (the NTS-KE server itself)");
    std::string sizes;
    for (const auto& c : r->response.cookies) {
        if (!sizes.empty()) sizes += ",";
        sizes += std::to_string(c.size());
    }
    std::printf("cookies        %zu (octets: %s)\n", r->response.cookies.size(), sizes.c_str());
    for (auto w : r->response.warnings) std::printf("warning        %u\n", w);
    return 0;
}

}  // namespace nts_ke
