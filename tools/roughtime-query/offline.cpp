#include "tools/roughtime-query/offline.hpp"

#include <array>
#include <cstdio>

#include "libtime/stream/json_lines.hpp"
#include "libtime/base/log.hpp"
#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/keyfile.hpp"
#include "libtime/roughtime/retry.hpp"
#include "libtime/roughtime/sample.hpp"
#include "libtime/roughtime/sequence.hpp"
#include "libtime/roughtime/version_set.hpp"
#include "libtime/roughtime/report.hpp"
#include "libtime/sys/file.hpp"

namespace roughtime_query {

using namespace timepipe;

std::string read_file_or_die(const char* path) {
    auto text = read_file(path, std::size_t{16} << 20);
    if (!text) log::fatalx(text.error().exit_code, "%s: %s", path, text.error().what.c_str());
    return std::move(*text);
}

namespace {

std::span<const std::byte> bytes_of(const std::string& s) {
    return {static_cast<const std::byte*>(static_cast<const void*>(s.data())), s.size()};
}

// "l9cdSuR8...=" -> "name (l9cdSuR8...=)" when the list knows the key.
std::string named(const crypto::PublicKey& key, const std::optional<roughtime::ServerList>& list) {
    const std::string b64 = base64_encode(key);
    if (list)
        for (const auto& s : list->servers)
            if (s.public_key == key) return s.name + " (" + b64 + ")";
    return b64;
}

}  // namespace

int verify_exchange(const char* request_path, const char* response_path, const char* public_key,
                    OutputFormat format) {
    auto key = roughtime::parse_public_key(public_key);
    if (!key) log::fatalx(EX_USAGE, "public key: %s", key.error().what.c_str());
    const std::string request = read_file_or_die(request_path);
    const std::string response = read_file_or_die(response_path);
    auto v = roughtime::verify_response(bytes_of(request), bytes_of(response), *key);
    if (!v) {
        log::warnx("%s: %s", response_path, std::string(roughtime::failure_text(v.error())).c_str());
        return EX_DATAERR;
    }
    const std::int64_t secs = v->midpoint / kNanosPerSecond;
    if (format == OutputFormat::text) {
        std::printf("%s: verified: MIDP %lld (%s) RADI %.9g s, version %s\n", response_path,
                    static_cast<long long>(secs), roughtime::iso8601_utc(v->midpoint).c_str(),
                    nanos_to_seconds(v->radius_ns), std::string(roughtime::short_name(v->version)).c_str());
    } else {
        // Not a sample (an offline exchange has no local times): a record of its own type.
        Record r = {{"v", 1},
                    {"type", "roughtime_exchange"},
                    {"midpoint", v->midpoint},
                    {"radius", nanos_to_seconds(v->radius_ns)},
                    {"roughtime_version", std::string(roughtime::short_name(v->version))},
                    {"verified", true}};
        if (format == OutputFormat::json) {
            std::fputs(to_json_line(r).c_str(), stdout);
        } else {
            auto bytes = encode_record(r);
            if (!bytes) log::fatalx(EX_SOFTWARE, "record: %s", bytes.error().what.c_str());
            std::fwrite(bytes->data(), 1, bytes->size(), stdout);
        }
    }
    if (std::fflush(stdout) != 0) log::fatal(EX_IOERR, "stdout");
    return 0;
}

int check_report(const char* path, const std::optional<roughtime::ServerList>& list) {
    auto report = roughtime::parse_report(read_file_or_die(path));
    if (!report) {
        log::warnx("%s: %s", path, report.error().what.c_str());
        return report.error().exit_code;
    }
    const auto verdict = roughtime::verify_report(*report);
    for (const auto& r : verdict.responses) {
        if (r.ok()) continue;
        const std::string why = r.response_error ? std::string(roughtime::failure_text(*r.response_error))
                                                 : "chain: " + std::string(roughtime::to_string(*r.link_error));
        log::warnx("%s: responses[%zu] from %s: %s", path, r.index, named(r.public_key, list).c_str(), why.c_str());
        return EX_DATAERR;
    }
    const std::size_t n = verdict.responses.size();
    if (verdict.conflicts.empty()) {
        std::printf("%s: %zu %s verify and chain; no conflict\n", path, n, n == 1 ? "response" : "responses");
        return 1;
    }
    std::printf("%s: %zu responses verify and chain; %zu %s: malfeasance proven\n", path, n,
                verdict.conflicts.size(), verdict.conflicts.size() == 1 ? "conflict" : "conflicts");
    for (const auto& c : verdict.conflicts)
        std::printf("conflict: responses[%zu] from %s is ahead of responses[%zu] from %s by %.9g s beyond both radii\n",
                    c.earlier, named(c.earlier_key, list).c_str(), c.later, named(c.later_key, list).c_str(),
                    nanos_to_seconds(c.excess_ns));
    if (std::fflush(stdout) != 0) log::fatal(EX_IOERR, "stdout");
    return 0;
}

}  // namespace roughtime_query
