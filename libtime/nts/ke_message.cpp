#include "libtime/nts/ke_message.hpp"

#include <algorithm>

namespace timepipe::nts {

namespace {

constexpr auto t(KeRecordType type) { return static_cast<std::uint16_t>(type); }

std::vector<std::byte> ascii(const std::string& s) {
    std::vector<std::byte> b;
    for (char c : s) b.push_back(static_cast<std::byte>(c));
    return b;
}

std::string text(const std::vector<std::byte>& b) {
    std::string s;
    for (auto c : b) s.push_back(static_cast<char>(c));
    return s;
}

const char* record_name(std::uint16_t type) {
    switch (type) {
    case 0: return "End of Message";
    case 1: return "Next Protocol";
    case 2: return "Error";
    case 3: return "Warning";
    case 4: return "AEAD Algorithm";
    case 5: return "New Cookie";
    case 6: return "Server";
    case 7: return "Port";
    default: return "unknown";
    }
}

std::string describe(std::size_t index, const KeRecord& r) {
    return "record " + std::to_string(index + 1) + " (" + record_name(r.type) + ", type " + std::to_string(r.type) + ")";
}

// Reads the records both sides share the rules for; `seen` counts each known type.
struct Tally {
    int count[8] = {};
};

Result<std::uint16_t> port_of(const KeRecord& r) {
    auto v = u16_list(r);
    if (!v || v->size() != 1) return fail("Port body of " + std::to_string(r.body.size()) + " octets (2 expected)");
    return (*v)[0];
}

Result<std::string> server_of(const KeRecord& r) {
    auto s = text(r.body);
    if (!valid_server_name(s)) return fail("Server body is not an ASCII host name or address");
    return s;
}

}  // namespace

bool valid_server_name(std::string_view s) {
    if (s.empty() || s.size() > 255) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
               c == ':' || c == '_' || c == '%';
    });
}

std::vector<std::byte> encode_request(const KeRequest& r) {
    std::vector<std::byte> out;
    append_record(out, true, KeRecordType::next_protocol, u16_body(r.protocols));
    append_record(out, true, KeRecordType::aead_algorithm, u16_body(r.aeads));
    if (r.server) append_record(out, true, KeRecordType::server, ascii(*r.server));
    if (r.port) append_record(out, true, KeRecordType::port, u16_body({*r.port}));
    append_record(out, true, KeRecordType::end_of_message, {});
    return out;
}

std::vector<std::byte> encode_response(const KeResponse& r) {
    std::vector<std::byte> out;
    std::vector<std::uint16_t> proto;
    if (r.protocol) proto.push_back(*r.protocol);
    append_record(out, true, KeRecordType::next_protocol, u16_body(proto));
    if (r.aead) append_record(out, true, KeRecordType::aead_algorithm, u16_body({*r.aead}));
    for (auto w : r.warnings) append_record(out, true, KeRecordType::warning, u16_body({w}));
    for (const auto& c : r.cookies) append_record(out, false, KeRecordType::new_cookie, c);
    if (r.server) append_record(out, true, KeRecordType::server, ascii(*r.server));
    if (r.port) append_record(out, true, KeRecordType::port, u16_body({*r.port}));
    append_record(out, true, KeRecordType::end_of_message, {});
    return out;
}

std::vector<std::byte> encode_error(KeErrorCode code) {
    std::vector<std::byte> out;
    append_record(out, true, KeRecordType::error, u16_body({static_cast<std::uint16_t>(code)}));
    append_record(out, true, KeRecordType::end_of_message, {});
    return out;
}

Expected<KeRequest, KeRefusal> decode_request(const std::vector<KeRecord>& records) {
    auto bad = [](std::string what) { return Unexpected<KeRefusal>{KeRefusal{KeErrorCode::bad_request, std::move(what)}}; };
    if (records.empty() || records.back().type != t(KeRecordType::end_of_message)) return bad("no End of Message");
    KeRequest req;
    req.protocols.clear();
    req.aeads.clear();
    Tally seen;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const KeRecord& r = records[i];
        if (r.type >= 8) {
            if (r.critical)
                return Unexpected<KeRefusal>{KeRefusal{KeErrorCode::unrecognized_critical_record,
                                                       describe(i, r) + ": unrecognized critical record"}};
            continue;  // an unknown non-critical record is ignored (§4)
        }
        if (++seen.count[r.type] > 1) return bad(describe(i, r) + ": more than one");
        switch (static_cast<KeRecordType>(r.type)) {
        case KeRecordType::end_of_message:
            if (!r.critical || !r.body.empty()) return bad(describe(i, r) + ": must be critical and empty");
            break;
        case KeRecordType::next_protocol: {
            if (!r.critical) return bad(describe(i, r) + ": critical bit not set");
            auto v = u16_list(r);
            if (!v) return bad(describe(i, r) + ": " + v.error().what);
            req.protocols = *v;
            break;
        }
        case KeRecordType::aead_algorithm: {
            auto v = u16_list(r);
            if (!v) return bad(describe(i, r) + ": " + v.error().what);
            req.aeads = *v;
            break;
        }
        case KeRecordType::server: {
            auto s = server_of(r);
            if (!s) return bad(describe(i, r) + ": " + s.error().what);
            req.server = *s;
            break;
        }
        case KeRecordType::port: {
            auto p = port_of(r);
            if (!p) return bad(describe(i, r) + ": " + p.error().what);
            req.port = *p;
            break;
        }
        case KeRecordType::error:
        case KeRecordType::warning:
        case KeRecordType::new_cookie: return bad(describe(i, r) + ": not allowed in a request");
        }
    }
    if (seen.count[t(KeRecordType::next_protocol)] == 0) return bad("no Next Protocol record");
    bool ntpv4 = std::find(req.protocols.begin(), req.protocols.end(), kNextProtocolNtpv4) != req.protocols.end();
    if (ntpv4 && seen.count[t(KeRecordType::aead_algorithm)] == 0) return bad("NTPv4 offered without an AEAD Algorithm record");
    return req;
}

Result<KeResponse> decode_response(const std::vector<KeRecord>& records) {
    if (records.empty() || records.back().type != t(KeRecordType::end_of_message)) return fail("no End of Message");
    KeResponse resp;
    Tally seen;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const KeRecord& r = records[i];
        if (r.type >= 8) {
            if (r.critical) return fail(describe(i, r) + ": unrecognized critical record");
            continue;
        }
        bool repeatable = r.type == t(KeRecordType::new_cookie) || r.type == t(KeRecordType::warning);
        if (++seen.count[r.type] > 1 && !repeatable) return fail(describe(i, r) + ": more than one");
        switch (static_cast<KeRecordType>(r.type)) {
        case KeRecordType::end_of_message:
            if (!r.body.empty()) return fail(describe(i, r) + ": not empty");
            break;
        case KeRecordType::error: {
            auto v = u16_list(r);
            if (!v || v->size() != 1) return fail("server error: malformed Error record");
            return fail("server error: " + ke_error_name((*v)[0]));
        }
        case KeRecordType::warning: {
            auto v = u16_list(r);
            if (!v || v->size() != 1) return fail(describe(i, r) + ": malformed");
            resp.warnings.push_back((*v)[0]);
            break;
        }
        case KeRecordType::next_protocol: {
            auto v = u16_list(r);
            if (!v) return fail(describe(i, r) + ": " + v.error().what);
            if (v->size() > 1) return fail(describe(i, r) + ": more than one protocol chosen");
            if (!v->empty()) resp.protocol = (*v)[0];
            break;
        }
        case KeRecordType::aead_algorithm: {
            auto v = u16_list(r);
            if (!v || v->size() != 1) return fail(describe(i, r) + ": not exactly one algorithm");
            resp.aead = (*v)[0];
            break;
        }
        case KeRecordType::new_cookie:
            if (r.body.empty()) return fail(describe(i, r) + ": empty cookie");
            resp.cookies.push_back(r.body);
            break;
        case KeRecordType::server: {
            auto s = server_of(r);
            if (!s) return fail(describe(i, r) + ": " + s.error().what);
            resp.server = *s;
            break;
        }
        case KeRecordType::port: {
            auto p = port_of(r);
            if (!p) return fail(describe(i, r) + ": " + p.error().what);
            resp.port = *p;
            break;
        }
        }
    }
    if (seen.count[t(KeRecordType::next_protocol)] == 0) return fail("no Next Protocol record");
    if (!resp.protocol) return fail("the server supports none of the protocols offered");
    if (*resp.protocol != kNextProtocolNtpv4) return fail("the server chose protocol " + std::to_string(*resp.protocol) + ", not NTPv4");
    if (!resp.aead) return fail("no AEAD Algorithm record: the server supports none of the algorithms offered");
    if (resp.cookies.empty()) return fail("no cookies");
    return resp;
}

KeChoice choose(const KeRequest& r, std::span<const AeadAlgorithm> supported) {
    KeChoice c;
    if (std::find(r.protocols.begin(), r.protocols.end(), kNextProtocolNtpv4) == r.protocols.end()) return c;
    c.protocol = kNextProtocolNtpv4;
    for (auto id : r.aeads) {
        auto a = aead_from_id(id);
        if (a && std::find(supported.begin(), supported.end(), *a) != supported.end()) {
            c.aead = *a;
            break;
        }
    }
    return c;
}

}  // namespace timepipe::nts
