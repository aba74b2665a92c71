#include "libtime/http/server_session.hpp"

#include <algorithm>
#include <cctype>

#include <llhttp.h>

namespace timepipe::http {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool has_token(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        auto comma = list.find(',');
        auto item = list.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (iequals(item, token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

const char* status_text(int status) {
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

namespace {

// No CR or LF from a client's bytes in our reply's reason line.
std::string one_line(std::string_view in) {
    std::string s(in);
    for (char& c : s)
        if (c == '\r' || c == '\n') c = ' ';
    return s;
}

}  // namespace

std::string Request::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return v;
    return {};
}

std::string Request::header_list(std::string_view name) const {
    std::string all;
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) all += (all.empty() ? "" : ",") + v;
    return all;
}

std::string_view Request::path() const { return std::string_view(target).substr(0, target.find('?')); }

Response Response::text(int status, std::string body) {
    return Response{status, {{"Content-Type", "text/plain; charset=utf-8"}}, std::move(body), status >= 400};
}

Response Response::error(int status, std::string_view reason) { return text(status, one_line(reason) + "\n"); }

ServerCounters& ServerCounters::operator+=(const ServerCounters& o) {
    requests += o.requests;
    bad_requests += o.bad_requests;
    headers_too_large += o.headers_too_large;
    body_too_large += o.body_too_large;
    rate_limited += o.rate_limited;
    timeouts += o.timeouts;
    return *this;
}

struct ServerSession::Parser {
    llhttp_t parser;
    llhttp_settings_t settings;
    ServerSession* s = nullptr;
    Request request;
    std::string field, value;
    bool in_value = false;
    bool body_too_large = false;
    bool stop = false;  // an error reply was queued or the connection upgraded: parse no further
    // The header limit counts the bytes from a request's first to the end of its headers. llhttp
    // pauses at both ends so that feed() knows where they are: then 431 falls on the same byte
    // however the input was split (span callbacks alone run at chunk ends).
    enum class Pause { none, begin, headers } pause = Pause::none;
    bool in_headers = false;
    std::size_t header_bytes = 0;

    void end_header() {
        request.headers.emplace_back(std::move(field), std::move(value));
        field.clear();
        value.clear();
        in_value = false;
    }
    static Parser& of(llhttp_t* p) { return *static_cast<Parser*>(p->data); }
};

ServerSession::ServerSession(ServerConfig config, Handler handler, std::int64_t now_ns, UpgradeHook upgrade)
    : config_(std::move(config)), handler_(std::move(handler)), upgrade_(std::move(upgrade)),
      parser_(std::make_unique<Parser>()), now_(now_ns), last_activity_(now_ns) {
    Parser& h = *parser_;
    h.s = this;
    llhttp_settings_init(&h.settings);
    h.settings.on_message_begin = [](llhttp_t* p) -> int {
        Parser& st = Parser::of(p);
        st.request = Request{};
        st.field.clear(), st.value.clear();
        st.in_value = false;
        st.s->request_started_ = st.s->now_;
        st.pause = Parser::Pause::begin;
        return HPE_PAUSED;
    };
    h.settings.on_url = [](llhttp_t* p, const char* at, std::size_t n) {
        Parser::of(p).request.target.append(at, n);
        return 0;
    };
    h.settings.on_header_field = [](llhttp_t* p, const char* at, std::size_t n) {
        Parser& st = Parser::of(p);
        if (st.in_value) st.end_header();
        st.field.append(at, n);
        return 0;
    };
    h.settings.on_header_value = [](llhttp_t* p, const char* at, std::size_t n) {
        Parser& st = Parser::of(p);
        st.in_value = true;
        st.value.append(at, n);
        return 0;
    };
    h.settings.on_headers_complete = [](llhttp_t* p) -> int {
        Parser& st = Parser::of(p);
        if (st.in_value || !st.field.empty()) st.end_header();
        st.s->request_started_.reset();
        st.pause = Parser::Pause::headers;
        return HPE_PAUSED;
    };
    h.settings.on_body = [](llhttp_t* p, const char* at, std::size_t n) {
        Parser& st = Parser::of(p);
        if (st.request.body.size() + n > st.s->config_.max_body_bytes) {
            st.body_too_large = true;
            return -1;
        }
        st.request.body.append(at, n);
        return 0;
    };
    h.settings.on_message_complete = [](llhttp_t* p) {
        Parser& st = Parser::of(p);
        st.s->on_request();
        return st.stop ? HPE_PAUSED : 0;
    };
    llhttp_init(&h.parser, HTTP_REQUEST, &h.settings);
    h.parser.data = &h;
}

ServerSession::~ServerSession() = default;

void ServerSession::append(std::string_view s) {
    const auto* b = reinterpret_cast<const std::byte*>(s.data());
    out_.insert(out_.end(), b, b + s.size());
}

std::vector<std::byte> ServerSession::take_output() { return std::exchange(out_, {}); }

bool ServerSession::rate_ok(std::int64_t now_ns) {
    const std::int64_t window = now_ns / kNanosPerSecond;
    if (window != rate_window_) rate_window_ = window, rate_count_ = 0;
    return ++rate_count_ <= config_.max_rate;
}

void ServerSession::respond(const Response& r, bool head, bool keep_alive) {
    std::string msg = "HTTP/1.1 " + std::to_string(r.status) + " " + status_text(r.status) + "\r\n";
    bool has_connection = false;
    for (const auto& [k, v] : r.headers) {
        msg += one_line(k) + ": " + one_line(v) + "\r\n";
        has_connection = has_connection || iequals(k, "connection");
    }
    const bool close = r.close || !keep_alive;
    if (r.status >= 200 && r.status != 204) msg += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    if (close && !has_connection) msg += "Connection: close\r\n";
    msg += "\r\n";
    append(msg);
    if (!head && r.status >= 200 && r.status != 204) append(r.body);
    if (close) {
        if (why_.empty()) why_ = r.status >= 400 ? std::to_string(r.status) + " " + one_line(r.body) : "Connection: close";
        while (!why_.empty() && (why_.back() == ' ')) why_.pop_back();
        parser_->stop = true;
        done_ = true;
    }
}

void ServerSession::reply_error(int status, std::string_view reason) {
    why_ = std::to_string(status) + " " + one_line(reason);
    respond(Response::error(status, reason), false, false);
}

void ServerSession::on_request() {
    Parser& h = *parser_;
    Request& rq = h.request;
    rq.method = llhttp_method_name(static_cast<llhttp_method_t>(h.parser.method));
    rq.keep_alive = llhttp_should_keep_alive(&h.parser) != 0;
    ++counters_.requests;
    if (!rate_ok(now_)) {
        ++counters_.rate_limited;
        return reply_error(429, "more than " + std::to_string(config_.max_rate) + " requests a second");
    }
    if (upgrade_ && has_token(rq.header_list("connection"), "upgrade") && !rq.header("upgrade").empty()) {
        if (auto r = upgrade_(rq)) {
            if (r->status != 101) return respond(*r, false, rq.keep_alive);
            respond(*r, false, true);
            upgraded_ = true;
            h.stop = true;  // the parser pauses after this message; the rest of the bytes are the new protocol's
            return;
        }
    }
    if (std::find(config_.methods.begin(), config_.methods.end(), rq.method) == config_.methods.end()) {
        ++counters_.bad_requests;
        std::string allow, words;
        for (std::size_t i = 0; i < config_.methods.size(); ++i) {
            allow += (i ? ", " : "") + config_.methods[i];
            words += (i == 0 ? "" : i + 1 == config_.methods.size() ? " and " : ", ") + config_.methods[i];
        }
        Response r = Response::text(405, "only " + words + "\n");
        r.headers.insert(r.headers.begin(), {"Allow", allow});
        why_ = "405 method";
        return respond(r, false, false);
    }
    respond(handler_(rq), rq.method == "HEAD", rq.keep_alive);
}

void ServerSession::feed(std::span<const std::byte> bytes, std::int64_t now_ns) {
    now_ = now_ns;
    last_activity_ = now_ns;
    Parser& h = *parser_;
    const auto* data = reinterpret_cast<const char*>(bytes.data());
    std::size_t at = 0;
    bool resumed = false;  // after a pause at the input's end, what needs no input still runs (a request's end)
    while (!done_ && !h.stop && (at < bytes.size() || resumed)) {
        resumed = false;
        std::size_t n = bytes.size() - at;
        if (h.in_headers && n > 0) {
            if (h.header_bytes >= config_.max_header_bytes) {
                ++counters_.headers_too_large;
                return reply_error(431, "request line and headers over " + std::to_string(config_.max_header_bytes) + " bytes");
            }
            n = std::min(n, config_.max_header_bytes - h.header_bytes);
        }
        h.pause = Parser::Pause::none;
        const llhttp_errno_t e = llhttp_execute(&h.parser, data + at, n);
        const char* pos = llhttp_get_error_pos(&h.parser);
        const std::size_t used = e != HPE_OK && pos ? static_cast<std::size_t>(pos - data) : at + n;
        if (h.in_headers) h.header_bytes += used - at;
        at = used;
        if (e == HPE_OK) continue;
        if (upgraded_) {
            leftover_.assign(bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.end());
            return;
        }
        if (h.stop || done_) return;
        if (e == HPE_PAUSED && h.pause != Parser::Pause::none) {
            if (h.pause == Parser::Pause::begin) h.in_headers = true, h.header_bytes = 0;
            else h.in_headers = false;
            llhttp_resume(&h.parser);
            resumed = true;
            continue;
        }
        if (e == HPE_PAUSED_UPGRADE) {
            // An Upgrade nobody took (RFC 9110 §7.8: ignore it): parse on as HTTP/1.1.
            llhttp_resume_after_upgrade(&h.parser);
            resumed = true;
            continue;
        }
        if (h.body_too_large) {
            ++counters_.body_too_large;
            return reply_error(413, "body over " + std::to_string(config_.max_body_bytes) + " bytes");
        }
        ++counters_.bad_requests;
        return reply_error(400, std::string("malformed HTTP: ") + llhttp_errno_name(e) + ": " +
                                    (h.parser.reason ? h.parser.reason : "?"));
    }
}

bool ServerSession::expired(std::int64_t now_ns) {
    now_ = now_ns;
    if (done_) return true;
    if (upgraded_) return false;  // the upgraded protocol keeps its own time
    if (request_started_ && now_ns - *request_started_ > config_.header_timeout_ns) {
        ++counters_.timeouts;
        reply_error(408, "request headers incomplete after " + std::to_string(config_.header_timeout_ns / kNanosPerSecond) + " s");
        return false;  // the 408 goes out, then done()
    }
    if (now_ns - last_activity_ <= config_.idle_timeout_ns) return false;
    ++counters_.timeouts;
    why_ = "idle";
    done_ = true;
    return true;
}

void ServerSession::end_of_input() {
    if (why_.empty()) why_ = "closed by the client";
    done_ = true;
}

}  // namespace timepipe::http
