// TLS 1.3 over OpenSSL 3 for NTS-KE (RFC 8915 §4: TLS 1.3 or later, ALPN "ntske/1"), through
// memory BIOs: the session never touches a socket, so one class serves a blocking client and a
// libuv server alike. The caller moves ciphertext between the socket and the session.
//
//   auto ctx = TlsContext::client({.ca_file = "", .alpn = "ntske/1"});   // system CAs
//   auto s = TlsSession::client(*ctx, "nts.example.net");               // SNI + name check
//   loop: s->feed(from_socket); auto done = s->handshake(); send(s->take_output());
//   s->write(request); send(s->take_output()); ... s->read(buf) ...
//   auto keys = s->export_key("EXPORTER-network-time-security", context, 32);
//
// Errors carry OpenSSL's reason: "TLS handshake: certificate verify failed", "TLS handshake:
// tlsv1 alert protocol version", EX_PROTOCOL; files EX_NOINPUT/EX_CONFIG.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace timepipe {

struct TlsConfig {
    std::string alpn;      // the one protocol offered (client) or required (server)
    std::string groups;    // OpenSSL's group list ("X25519:P-256"); empty: OpenSSL's default
    std::string ca_file;   // client: trusted CAs in PEM; empty: the system's store
    std::string cert_file; // server: certificate chain (PEM)
    std::string key_file;  // server: private key (PEM)
    // HTTPS (webntp-serve, webntp-query): a peer that offers or selects no ALPN, or none of
    // ours, is accepted, and TLS 1.2 too. NTS-KE leaves both false: RFC 8915 §3 requires
    // TLS 1.3 and ALPN "ntske/1".
    bool alpn_optional = false;
    bool allow_tls12 = false;
};

class TlsContext {
public:
    static Result<TlsContext> client(const TlsConfig& c);
    static Result<TlsContext> server(const TlsConfig& c);
    // Server: loads certificate and key again (SIGHUP); on error the old ones stay.
    Result<void> reload();

    TlsContext(TlsContext&&) noexcept;
    TlsContext& operator=(TlsContext&&) noexcept;
    ~TlsContext();
    SSL_CTX* get() const { return ctx_; }
    const TlsConfig& config() const { return *config_; }

private:
    TlsContext(SSL_CTX* ctx, TlsConfig c);
    SSL_CTX* ctx_ = nullptr;
    std::unique_ptr<TlsConfig> config_;  // stable address: OpenSSL's ALPN callback points at it
};

// What a person debugging NTS wants to know about a session.
struct TlsInfo {
    std::string version;        // "TLSv1.3"
    std::string cipher;         // "TLS_AES_256_GCM_SHA384"
    std::string group;          // "x25519"
    std::string alpn;           // "ntske/1"
    std::string peer_subject;   // "CN=nts.example.net"
    std::string peer_issuer;
    std::optional<std::int64_t> peer_not_after;  // Unix seconds
};

class TlsSession {
public:
    // `host` names the server: SNI (for a name) and the certificate check (name or address).
    static Result<TlsSession> client(const TlsContext& ctx, const std::string& host);
    static Result<TlsSession> server(const TlsContext& ctx);

    TlsSession(TlsSession&&) noexcept;
    TlsSession& operator=(TlsSession&&) noexcept;
    ~TlsSession();

    // Ciphertext from the peer.
    void feed(std::span<const std::byte> bytes);
    // Ciphertext for the peer (everything pending).
    std::vector<std::byte> take_output();

    // Advances the handshake: true once complete (ALPN checked unless the context's config says
    // alpn_optional), false while it needs more input.
    Result<bool> handshake();
    // Plaintext: bytes read (0: none yet); nullopt at the peer's close_notify or end.
    Result<std::optional<std::size_t>> read(std::span<std::byte> into);
    Result<void> write(std::span<const std::byte> data);
    void close();  // sends close_notify (take_output() then carries it)

    // RFC 5705 / RFC 8446 §7.5 exporter.
    Result<std::vector<std::byte>> export_key(const std::string& label, std::span<const std::byte> context,
                                              std::size_t size) const;
    TlsInfo info() const;

private:
    TlsSession(SSL* ssl, bool alpn_required) : ssl_(ssl), alpn_required_(alpn_required) {}
    SSL* ssl_ = nullptr;
    bool alpn_required_ = true;
};

}  // namespace timepipe
