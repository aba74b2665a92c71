#include "libtime/base/host_port.hpp"

#include <algorithm>

namespace timepipe {
namespace {

// DNS names are at most 253 characters; numeric IPv6 with a zone is far shorter.
constexpr std::size_t kMaxHost = 253;

bool is_host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

// Inside brackets, or bare with several colons: hex digits, ':', '.', and a "%zone" suffix.
bool is_v6_char(char c) { return is_host_char(c) || c == ':' || c == '%'; }

Result<std::string> check_host(std::string_view host, bool v6) {
    if (host.empty())
        return fail("empty host name", EX_USAGE);
    if (host.size() > kMaxHost)
        return fail("host name too long", EX_USAGE);
    bool ok = v6 ? std::all_of(host.begin(), host.end(), is_v6_char)
                 : std::all_of(host.begin(), host.end(), is_host_char);
    if (!ok)
        return fail("invalid character in host name", EX_USAGE);
    if (v6 && host.find(':') == std::string_view::npos)
        return fail("brackets hold an IPv6 address", EX_USAGE);
    return std::string(host);
}

Result<std::uint16_t> parse_port(std::string_view s) {
    if (s.empty())
        return fail("missing port after ':'", EX_USAGE);
    if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return fail("port is not a number", EX_USAGE);
    if (s.size() > 5)
        return fail("port out of range (0-65535)", EX_USAGE);
    unsigned v = 0;
    for (char c : s)
        v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > 65535)
        return fail("port out of range (0-65535)", EX_USAGE);
    return static_cast<std::uint16_t>(v);
}

Result<HostPort> make(Result<std::string> host, std::optional<std::string_view> port_text) {
    if (!host)
        return Unexpected<Error>{host.error()};
    HostPort hp{std::move(*host), std::nullopt};
    if (port_text) {
        auto port = parse_port(*port_text);
        if (!port)
            return Unexpected<Error>{port.error()};
        hp.port = *port;
    }
    return hp;
}

}  // namespace

Result<HostPort> parse_host_port(std::string_view text) {
    if (text.empty())
        return fail("empty address", EX_USAGE);
    if (text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos)
            return fail("missing ']'", EX_USAGE);
        auto host = check_host(text.substr(1, close - 1), true);
        auto rest = text.substr(close + 1);
        if (rest.empty())
            return make(std::move(host), std::nullopt);
        if (rest.front() != ':')
            return fail("unexpected text after ']'", EX_USAGE);
        return make(std::move(host), rest.substr(1));
    }
    if (text.find(']') != std::string_view::npos)
        return fail("unexpected ']'", EX_USAGE);
    auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return make(check_host(text, false), std::nullopt);
    if (text.find(':', colon + 1) != std::string_view::npos)
        return make(check_host(text, true), std::nullopt);  // bare IPv6, no port
    return make(check_host(text.substr(0, colon), false), text.substr(colon + 1));
}

std::string to_string(const HostPort& hp) {
    bool v6 = hp.host.find(':') != std::string::npos;
    std::string out = v6 ? "[" + hp.host + "]" : hp.host;
    if (hp.port)
        out += ":" + std::to_string(*hp.port);
    return out;
}

}  // namespace timepipe
