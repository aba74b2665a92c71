// WebNTP's HTTP client side over bytes: see client_http.hpp.
#include "libtime/http/client_http.hpp"

#include <llhttp.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include "libtime/base/base64.hpp"
#include "libtime/http/webntp_message.hpp"

namespace timepipe::http {

namespace {

constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
constexpr std::size_t kMaxBodyBytes = 64 * 1024;

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool valid_host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string WebUrl::host_header() const {
    const bool v6 = host.find(':') != std::string::npos;
    std::string h = v6 ? "[" + host + "]" : host;
    const std::uint16_t def = tls() ? 443 : 80;
    if (port != def) h += ":" + std::to_string(port);
    return h;
}

std::string WebUrl::text() const { return scheme + "://" + host_header() + target; }

Result<WebUrl> parse_web_url(std::string_view text) {
    const auto bad = [&](const std::string& why) { return fail("URL \"" + std::string(text) + "\": " + why, EX_USAGE); };
    WebUrl u;
    const auto sep = text.find("://");
    if (sep == std::string_view::npos) return bad("expected scheme://host");
    u.scheme = lower(text.substr(0, sep));
    if (u.scheme != "http" && u.scheme != "https" && u.scheme != "ws" && u.scheme != "wss")
        return bad("scheme must be http, https, ws or wss");
    std::string_view rest = text.substr(sep + 3);
    const auto path_at = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, path_at);
    std::string_view target = path_at == std::string_view::npos ? std::string_view{} : rest.substr(path_at);
    if (authority.find('@') != std::string_view::npos) return bad("user info is not supported");
    if (target.find('#') != std::string_view::npos) return bad("fragments are not supported");
    for (char c : target)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("space or control character in the path");
    std::string_view port_text;
    if (!authority.empty() && authority[0] == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return bad("unclosed '['");
        u.host = std::string(authority.substr(1, close - 1));
        for (char c : u.host)
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return bad("bad IPv6 address");
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') return bad("expected ':' after ']'");
            port_text = after.substr(1);
            if (port_text.empty()) return bad("empty port");
        }
    } else {
        const auto colon = authority.rfind(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
            if (port_text.empty()) return bad("empty port");
        }
        if (!std::all_of(u.host.begin(), u.host.end(), valid_host_char)) return bad("bad host name");
    }
    if (u.host.empty()) return bad("no host");
    u.port = u.tls() ? 443 : 80;
    if (!port_text.empty()) {
        unsigned v = 0;
        auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
        if (ec != std::errc{} || p != port_text.data() + port_text.size() || v == 0 || v > 65535) return bad("bad port");
        u.port = static_cast<std::uint16_t>(v);
    }
    u.target = target.empty() ? "/" : (target[0] == '?' ? "/" + std::string(target) : std::string(target));
    return u;
}

std::string get_request(const WebUrl& url, std::string_view query) {
    std::string target = url.target;
    if (!query.empty()) target += (target.find('?') == std::string::npos ? "?" : "&") + std::string(query);
    return "GET " + target + " HTTP/1.1\r\nHost: " + url.host_header() +
           "\r\nUser-Agent: webntp-query (timepipe)\r\nAccept: application/json\r\nConnection: keep-alive\r\n\r\n";
}

std::string websocket_upgrade_request(const WebUrl& url, std::string_view key) {
    return "GET " + url.target + " HTTP/1.1\r\nHost: " + url.host_header() +
           "\r\nUser-Agent: webntp-query (timepipe)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: " + std::string(key) + "\r\nSec-WebSocket-Version: 13\r\n"
           "Sec-WebSocket-Protocol: " + std::string(kWebNtpSubprotocol) + "\r\n\r\n";
}

std::string expected_websocket_accept(std::string_view key) {
    const std::string in = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_Digest(in.data(), in.size(), md.data(), &len, EVP_sha1(), nullptr) != 1) return {};
    return base64_encode(std::as_bytes(std::span(md.data(), len)));
}

WebNtpSample measure(std::int64_t t_send, std::int64_t t_recv, std::int64_t server_time) {
    // Halve each term first: the sum of two Unix-nanosecond times would overflow int64.
    const std::int64_t mid = t_send / 2 + t_recv / 2 + (t_send % 2 + t_recv % 2) / 2;
    return {server_time - mid, t_recv - t_send};
}

std::optional<WebNtpSample> combine_samples(std::span<const WebNtpSample> samples, std::size_t* kept) {
    if (kept) *kept = 0;
    if (samples.empty()) return std::nullopt;
    std::int64_t min_delay = samples[0].delay;
    for (const auto& s : samples) min_delay = std::min(min_delay, s.delay);
    // go-webntp: delay >= 2 * min is dropped. A zero minimum would drop everything but itself.
    long double offset = 0, delay = 0;
    std::size_t n = 0;
    for (const auto& s : samples) {
        if (min_delay > 0 && s.delay >= 2 * min_delay) continue;
        if (min_delay <= 0 && s.delay > min_delay) continue;
        offset += static_cast<long double>(s.offset);
        delay += static_cast<long double>(s.delay);
        ++n;
    }
    if (kept) *kept = n;
    return WebNtpSample{static_cast<std::int64_t>(offset / static_cast<long double>(n)),
                        static_cast<std::int64_t>(delay / static_cast<long double>(n))};
}

struct HttpResponseParser::State {
    llhttp_t parser{};
    llhttp_settings_t settings{};
    int status = 0;
    bool complete = false;
    bool keep_alive = false;
    bool in_value = false;
    std::size_t header_bytes = 0;
    std::string field, value, body, leftover;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string limit_error;

    static State& of(llhttp_t* p) { return *static_cast<State*>(p->data); }
    void end_header() {
        if (!field.empty()) headers.emplace_back(lower(field), value);
        field.clear();
        value.clear();
    }
    bool count(std::size_t n) {
        header_bytes += n;
        if (header_bytes > kMaxHeaderBytes) { limit_error = "header larger than 16 KiB"; return false; }
        return true;
    }
};

HttpResponseParser::HttpResponseParser() : s_(std::make_unique<State>()) {
    llhttp_settings_init(&s_->settings);
    s_->settings.on_status = [](llhttp_t* p, const char*, std::size_t n) {
        return State::of(p).count(n) ? 0 : -1;
    };
    s_->settings.on_header_field = [](llhttp_t* p, const char* at, std::size_t n) {
        State& s = State::of(p);
        if (s.in_value) { s.end_header(); s.in_value = false; }
        s.field.append(at, n);
        return s.count(n) ? 0 : -1;
    };
    s_->settings.on_header_value = [](llhttp_t* p, const char* at, std::size_t n) {
        State& s = State::of(p);
        s.in_value = true;
        s.value.append(at, n);
        return s.count(n) ? 0 : -1;
    };
    s_->settings.on_headers_complete = [](llhttp_t* p) {
        State& s = State::of(p);
        s.end_header();
        s.in_value = false;
        s.status = p->status_code;
        // 101: the bytes after the head are WebSocket frames, not a body.
        return s.status == 101 ? 2 : 0;
    };
    s_->settings.on_body = [](llhttp_t* p, const char* at, std::size_t n) {
        State& s = State::of(p);
        if (s.body.size() + n > kMaxBodyBytes) { s.limit_error = "body larger than 64 KiB"; return -1; }
        s.body.append(at, n);
        return 0;
    };
    s_->settings.on_message_complete = [](llhttp_t* p) {
        State& s = State::of(p);
        s.complete = true;
        s.keep_alive = llhttp_should_keep_alive(p) != 0;
        return static_cast<int>(HPE_PAUSED);  // stop here: what follows is the next response
    };
    reset();
}

HttpResponseParser::~HttpResponseParser() = default;

void HttpResponseParser::reset() {
    llhttp_init(&s_->parser, HTTP_RESPONSE, &s_->settings);
    s_->parser.data = s_.get();
    s_->status = 0;
    s_->complete = false;
    s_->keep_alive = false;
    s_->in_value = false;
    s_->header_bytes = 0;
    s_->field.clear();
    s_->value.clear();
    s_->body.clear();
    s_->leftover.clear();
    s_->headers.clear();
    s_->limit_error.clear();
}

Result<bool> HttpResponseParser::feed(std::span<const std::byte> bytes) {
    std::string_view v(static_cast<const char*>(static_cast<const void*>(bytes.data())), bytes.size());
    return feed(v);
}

Result<bool> HttpResponseParser::feed(std::string_view bytes) {
    if (s_->complete) {
        s_->leftover.append(bytes);
        return true;
    }
    const llhttp_errno_t e = llhttp_execute(&s_->parser, bytes.data(), bytes.size());
    if (e == HPE_OK) return false;
    if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
        const char* pos = llhttp_get_error_pos(&s_->parser);
        const std::size_t used = pos ? static_cast<std::size_t>(pos - bytes.data()) : bytes.size();
        s_->leftover.append(bytes.substr(std::min(used, bytes.size())));
        if (e == HPE_PAUSED_UPGRADE) {
            s_->complete = true;
            s_->keep_alive = true;
        }
        return true;
    }
    if (!s_->limit_error.empty()) return fail("HTTP response: " + s_->limit_error, EX_PROTOCOL);
    return fail(std::string("HTTP response: ") + llhttp_get_error_reason(&s_->parser), EX_PROTOCOL);
}

Result<bool> HttpResponseParser::finish() {
    if (s_->complete) return true;
    const llhttp_errno_t e = llhttp_finish(&s_->parser);
    if ((e == HPE_OK || e == HPE_PAUSED) && s_->complete) return true;
    return fail("HTTP response: connection closed before the response was complete", EX_PROTOCOL);
}

bool HttpResponseParser::complete() const { return s_->complete; }
int HttpResponseParser::status() const { return s_->status; }
const std::string& HttpResponseParser::body() const { return s_->body; }
const std::string& HttpResponseParser::leftover() const { return s_->leftover; }
bool HttpResponseParser::keep_alive() const { return s_->keep_alive; }

std::optional<std::string> HttpResponseParser::header(std::string_view name) const {
    const std::string n = lower(name);
    for (auto it = s_->headers.rbegin(); it != s_->headers.rend(); ++it)
        if (it->first == n) return it->second;
    return std::nullopt;
}

}  // namespace timepipe::http
