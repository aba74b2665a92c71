#include "libtime/sys/tls.hpp"

#include <cstring>
#include <ctime>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sysexits.h>
#include <utility>

#include "libtime/sys/resolve.hpp"

namespace timepipe {

namespace {

// The first queued OpenSSL error as "what: reason", and the queue cleared.
std::string ssl_reason() {
    unsigned long e = ERR_get_error();
    std::string r;
    if (e != 0) {
        const char* reason = ERR_reason_error_string(e);
        r = reason ? reason : "error " + std::to_string(ERR_GET_REASON(e));
    }
    ERR_clear_error();
    return r.empty() ? "unknown error" : r;
}

Unexpected<Error> ssl_fail(const std::string& what, int code = EX_PROTOCOL) { return fail(what + ": " + ssl_reason(), code); }

std::vector<unsigned char> alpn_wire(const std::string& p) {
    std::vector<unsigned char> w;
    w.push_back(static_cast<unsigned char>(p.size()));
    w.insert(w.end(), p.begin(), p.end());
    return w;
}

// Server: accept the connection only with the configured protocol among the client's offers.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void* arg) {
    const auto* config = static_cast<const TlsConfig*>(arg);
    const std::string* want = &config->alpn;
    for (unsigned int i = 0; i < inlen;) {
        unsigned int len = in[i];
        if (i + 1 + len > inlen) break;
        if (len == want->size() && std::memcmp(in + i + 1, want->data(), len) == 0) {
            *out = in + i + 1;
            *outlen = static_cast<unsigned char>(len);
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + len;
    }
    // no_application_protocol, unless ALPN is optional: then the handshake goes on without one
    return config->alpn_optional ? SSL_TLSEXT_ERR_NOACK : SSL_TLSEXT_ERR_ALERT_FATAL;
}

Result<SSL_CTX*> new_context(bool server, const TlsConfig& c) {
    SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) return ssl_fail("TLS context", EX_SOFTWARE);
    auto bail = [&](const std::string& what, int code) {
        auto e = ssl_fail(what, code);
        SSL_CTX_free(ctx);
        return e;
    };
    if (SSL_CTX_set_min_proto_version(ctx, c.allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION) != 1)
        return bail("TLS minimum version", EX_SOFTWARE);
    if (!c.groups.empty() && SSL_CTX_set1_groups_list(ctx, c.groups.c_str()) != 1)
        return bail("--groups \"" + c.groups + "\"", EX_USAGE);
    if (server) {
        if (SSL_CTX_use_certificate_chain_file(ctx, c.cert_file.c_str()) != 1) return bail(c.cert_file, EX_NOINPUT);
        if (SSL_CTX_use_PrivateKey_file(ctx, c.key_file.c_str(), SSL_FILETYPE_PEM) != 1) return bail(c.key_file, EX_NOINPUT);
        if (SSL_CTX_check_private_key(ctx) != 1) return bail(c.key_file + ": does not match " + c.cert_file, EX_CONFIG);
        SSL_CTX_set_num_tickets(ctx, 0);  // an NTS-KE client never resumes
    } else {
        int ok = c.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                   : SSL_CTX_load_verify_locations(ctx, c.ca_file.c_str(), nullptr);
        if (ok != 1) return bail(c.ca_file.empty() ? std::string("system CA store") : c.ca_file, EX_NOINPUT);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        if (!c.alpn.empty()) {
            auto w = alpn_wire(c.alpn);
            if (SSL_CTX_set_alpn_protos(ctx, w.data(), static_cast<unsigned>(w.size())) != 0) return bail("ALPN", EX_SOFTWARE);
        }
    }
    return ctx;
}

std::string name_text(const X509_NAME* n) {
    BIO* b = BIO_new(BIO_s_mem());
    if (!b) return {};
    X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long len = BIO_get_mem_data(b, &data);
    std::string s(data ? data : "", data ? static_cast<std::size_t>(len) : 0);
    BIO_free(b);
    return s;
}

}  // namespace

TlsContext::TlsContext(SSL_CTX* ctx, TlsConfig c) : ctx_(ctx), config_(std::make_unique<TlsConfig>(std::move(c))) {}

TlsContext::TlsContext(TlsContext&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)), config_(std::move(o.config_)) {}

TlsContext& TlsContext::operator=(TlsContext&& o) noexcept {
    if (this != &o) {
        SSL_CTX_free(ctx_);
        ctx_ = std::exchange(o.ctx_, nullptr);
        config_ = std::move(o.config_);
    }
    return *this;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<TlsContext> TlsContext::client(const TlsConfig& c) {
    auto ctx = new_context(false, c);
    if (!ctx) return Unexpected<Error>{ctx.error()};
    return TlsContext(*ctx, c);
}

Result<TlsContext> TlsContext::server(const TlsConfig& c) {
    auto ctx = new_context(true, c);
    if (!ctx) return Unexpected<Error>{ctx.error()};
    TlsContext t(*ctx, c);
    SSL_CTX_set_alpn_select_cb(t.ctx_, select_alpn, t.config_.get());
    return t;
}

Result<void> TlsContext::reload() {
    auto ctx = new_context(true, *config_);
    if (!ctx) return Unexpected<Error>{ctx.error()};
    SSL_CTX_set_alpn_select_cb(*ctx, select_alpn, config_.get());
    SSL_CTX_free(ctx_);  // sessions still running hold their own reference
    ctx_ = *ctx;
    return {};
}

Result<TlsSession> TlsSession::client(const TlsContext& ctx, const std::string& host) {
    SSL* ssl = SSL_new(ctx.get());
    if (!ssl) return ssl_fail("TLS session", EX_SOFTWARE);
    TlsSession s(ssl, !ctx.config().alpn_optional);
    SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_connect_state(ssl);
    if (parse_address(host)) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1) return ssl_fail("TLS peer address", EX_USAGE);
    } else {
        // SSL_set_tlsext_host_name() is a macro with a C cast: its call spelled out
        if (SSL_set1_host(ssl, host.c_str()) != 1 ||
            SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str())) != 1)
            return ssl_fail("TLS server name", EX_USAGE);
    }
    return s;
}

Result<TlsSession> TlsSession::server(const TlsContext& ctx) {
    SSL* ssl = SSL_new(ctx.get());
    if (!ssl) return ssl_fail("TLS session", EX_SOFTWARE);
    TlsSession s(ssl, !ctx.config().alpn_optional);
    SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
    SSL_set_accept_state(ssl);
    return s;
}

TlsSession::TlsSession(TlsSession&& o) noexcept : ssl_(std::exchange(o.ssl_, nullptr)), alpn_required_(o.alpn_required_) {}

TlsSession& TlsSession::operator=(TlsSession&& o) noexcept {
    if (this != &o) {
        SSL_free(ssl_);
        ssl_ = std::exchange(o.ssl_, nullptr);
        alpn_required_ = o.alpn_required_;
    }
    return *this;
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::feed(std::span<const std::byte> bytes) {
    if (!bytes.empty()) BIO_write(SSL_get_rbio(ssl_), bytes.data(), static_cast<int>(bytes.size()));
}

std::vector<std::byte> TlsSession::take_output() {
    BIO* w = SSL_get_wbio(ssl_);
    std::vector<std::byte> out(BIO_ctrl_pending(w));
    if (!out.empty()) {
        int n = BIO_read(w, out.data(), static_cast<int>(out.size()));
        out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    }
    return out;
}

Result<bool> TlsSession::handshake() {
    int r = SSL_do_handshake(ssl_);
    if (r != 1) {
        int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
        if (e == SSL_ERROR_SSL) {
            long v = SSL_get_verify_result(ssl_);
            if (v != X509_V_OK) {
                ERR_clear_error();
                return fail(std::string("TLS handshake: certificate: ") + X509_verify_cert_error_string(v), EX_PROTOCOL);
            }
        }
        return ssl_fail("TLS handshake");
    }
    const unsigned char* p = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl_, &p, &len);
    if (len == 0 && alpn_required_) return fail("TLS handshake: no application protocol (ALPN) negotiated", EX_PROTOCOL);
    return true;
}

Result<std::optional<std::size_t>> TlsSession::read(std::span<std::byte> into) {
    std::size_t n = 0;
    if (SSL_read_ex(ssl_, into.data(), into.size(), &n) == 1) return std::optional<std::size_t>(n);
    int e = SSL_get_error(ssl_, 0);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return std::optional<std::size_t>(0);
    if (e == SSL_ERROR_ZERO_RETURN) return std::optional<std::size_t>();
    return ssl_fail("TLS read");
}

Result<void> TlsSession::write(std::span<const std::byte> data) {
    std::size_t n = 0;
    if (data.empty()) return {};
    if (SSL_write_ex(ssl_, data.data(), data.size(), &n) != 1 || n != data.size()) return ssl_fail("TLS write");
    return {};
}

void TlsSession::close() {
    SSL_shutdown(ssl_);
    ERR_clear_error();
}

Result<std::vector<std::byte>> TlsSession::export_key(const std::string& label, std::span<const std::byte> context,
                                                     std::size_t size) const {
    std::vector<std::byte> out(size);
    if (SSL_export_keying_material(ssl_, reinterpret_cast<unsigned char*>(out.data()), size, label.data(), label.size(),
                                   reinterpret_cast<const unsigned char*>(context.data()), context.size(), 1) != 1)
        return ssl_fail("TLS key export", EX_SOFTWARE);
    return out;
}

TlsInfo TlsSession::info() const {
    TlsInfo i;
    i.version = SSL_get_version(ssl_);
    if (const char* c = SSL_get_cipher_name(ssl_)) i.cipher = c;
    int nid = SSL_get_negotiated_group(ssl_);
    if (nid != 0) {
        if (const char* g = SSL_group_to_name(ssl_, nid)) i.group = g;
    }
    const unsigned char* p = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl_, &p, &len);
    if (p) i.alpn.assign(reinterpret_cast<const char*>(p), len);
    if (X509* cert = SSL_get0_peer_certificate(ssl_)) {
        i.peer_subject = name_text(X509_get_subject_name(cert));
        i.peer_issuer = name_text(X509_get_issuer_name(cert));
        std::tm tm{};
        if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) i.peer_not_after = static_cast<std::int64_t>(timegm(&tm));
    }
    return i;
}

}  // namespace timepipe
