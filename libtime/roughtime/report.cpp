#include "libtime/roughtime/report.hpp"

#include <algorithm>

#include "libtime/roughtime/server_list.hpp"

namespace timepipe::roughtime {
namespace {

using Json = nlohmann::ordered_json;
using Bytes = std::vector<std::byte>;

// A base64 field of a response object; nullopt (not an error) when absent and !required.
Result<std::optional<Bytes>> field(const Json& obj, const char* key, bool required, const std::string& where) {
    auto it = obj.find(key);
    if (it == obj.end()) {
        if (required) return fail(where + "." + key + ": missing");
        return std::optional<Bytes>();
    }
    if (!it->is_string()) return fail(where + "." + key + ": not a string");
    auto bytes = base64_decode(it->get_ref<const std::string&>());
    if (!bytes) return fail(where + "." + key + ": not base64");
    return std::optional<Bytes>(std::move(*bytes));
}

Result<ChainStep> parse_entry(const Json& obj, std::size_t index) {
    std::string where = "responses[" + std::to_string(index) + "]";
    if (!obj.is_object()) return fail(where + ": not an object");
    ChainStep step;
    auto key = field(obj, "publicKey", true, where);
    if (!key) return Unexpected<Error>{key.error()};
    if ((*key)->size() != step.public_key.size()) return fail(where + ".publicKey: not 32 bytes");
    std::copy((*key)->begin(), (*key)->end(), step.public_key.begin());
    auto rand = field(obj, "rand", false, where);
    if (!rand) return Unexpected<Error>{rand.error()};
    if (*rand) {
        if ((*rand)->empty()) return fail(where + ".rand: empty");
        step.rand = std::move(**rand);
    }
    for (auto [name, out] : {std::pair{"request", &step.request}, std::pair{"response", &step.response}}) {
        auto b = field(obj, name, true, where);
        if (!b) return Unexpected<Error>{b.error()};
        if ((*b)->empty()) return fail(where + "." + name + ": empty");
        *out = std::move(**b);
    }
    return step;
}

}  // namespace

Result<Report> report_from_json(const Json& json) {
    if (!json.is_object()) return fail("report: not a JSON object");
    auto responses = json.find("responses");
    if (responses == json.end()) return fail("responses: missing");
    if (!responses->is_array()) return fail("responses: not an array");
    if (responses->empty()) return fail("responses: empty");
    Report out;
    for (std::size_t i = 0; i < responses->size(); ++i) {
        auto step = parse_entry((*responses)[i], i);
        if (!step) return Unexpected<Error>{step.error()};
        out.responses.push_back(std::move(*step));
    }
    return out;
}

Result<Report> parse_report(std::string_view json_text) {
    Json json;
    try {
        json = Json::parse(json_text);
    } catch (const Json::parse_error& e) {
        return fail("report: byte " + std::to_string(e.byte) + ": not valid JSON");
    } catch (const Json::exception&) {  // out_of_range: a number too large for any type
        return fail("report: not valid JSON (number out of range)");
    }
    return report_from_json(json);
}

Json to_json(const Report& report) {
    Json responses = Json::array();
    for (const auto& s : report.responses) {
        Json r = {{"publicKey", base64_encode(s.public_key)}};
        if (!s.rand.empty()) r["rand"] = base64_encode(s.rand);
        r["request"] = base64_encode(s.request);
        r["response"] = base64_encode(s.response);
        responses.push_back(std::move(r));
    }
    return {{"responses", std::move(responses)}};
}

std::string ResponseVerdict::reason() const {
    std::string out;
    if (response_error) out = "response: " + std::string(to_string(*response_error));
    if (link_error) out += (out.empty() ? "" : "; ") + ("chain: " + std::string(to_string(*link_error)));
    return out;
}

std::string describe(const Conflict& c) {
    // Whole seconds, rounded up: any excess at all is a conflict.
    std::int64_t s = c.excess_ns / kNanosPerSecond + (c.excess_ns % kNanosPerSecond != 0 ? 1 : 0);
    std::string out = "responses[" + std::to_string(c.earlier) + "] (" + base64_encode(c.earlier_key) +
                      ") is ahead of responses[" + std::to_string(c.later) + "] (" + base64_encode(c.later_key) +
                      ") by " + std::to_string(s) + " s beyond both radii";
    if (!c.proven) out += " (not proven: the chain is broken)";
    return out;
}

bool ReportVerdict::all_valid() const {
    return std::all_of(responses.begin(), responses.end(), [](const ResponseVerdict& r) { return r.ok(); });
}

ReportVerdict verify_report(const Report& report) {
    ReportVerdict out;
    const auto& steps = report.responses;
    std::vector<StepTime> times;
    std::vector<std::size_t> verified;  // report index of each entry of `times`
    for (std::size_t i = 0; i < steps.size(); ++i) {
        ResponseVerdict v;
        v.index = i;
        v.public_key = steps[i].public_key;
        // §5.4: the response against its own request and the key it was expected to use.
        if (auto t = verify_response(steps[i].request, steps[i].response, steps[i].public_key)) {
            v.time = StepTime{t->midpoint, t->radius_ns};
            v.version = t->version;
            times.push_back(*v.time);
            verified.push_back(i);
        } else {
            v.response_error = t.error();
        }
        // §8.2/§8.4.1: the first nonce is random (a rand there is ignored); later ones chained.
        if (i > 0) {
            if (auto link = check_link(steps[i - 1].response, steps[i].rand, steps[i].request); !link)
                v.link_error = link.error();
        }
        out.responses.push_back(std::move(v));
    }
    for (const auto& c : causality_violations(times)) {
        Conflict k;
        k.earlier = verified[c.earlier];
        k.later = verified[c.later];
        k.earlier_key = steps[k.earlier].public_key;
        k.later_key = steps[k.later].public_key;
        k.excess_ns = c.excess_ns;
        k.proven = std::all_of(out.responses.begin() + static_cast<std::ptrdiff_t>(k.earlier),
                               out.responses.begin() + static_cast<std::ptrdiff_t>(k.later) + 1,
                               [&](const ResponseVerdict& r) {
                                   return !r.response_error && (r.index == k.earlier || !r.link_error);
                               });
        out.conflicts.push_back(k);
    }
    return out;
}

}  // namespace timepipe::roughtime
