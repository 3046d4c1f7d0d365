#include "peer_tls.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "mgraph/graph/assert.hpp"

namespace mgraph::node {
namespace {

/// OpenSSL's queued errors for this thread as one line ("...; ..."), the queue emptied.
std::string openssl_errors() {
  std::string out;
  // Each pass removes one error from the thread's queue: bounded by its length.
  while (const unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason != nullptr ? reason : text;
  }
  return out.empty() ? "unknown reason" : out;
}

Status tls_error(const std::string& what) {
  return Status(StatusCode::invalid_argument, what + ": " + openssl_errors());
}

}  // namespace

Result<std::shared_ptr<const TlsContext>> TlsContext::load(const TlsFiles& files) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr) return tls_error("TLS");
  std::shared_ptr<const TlsContext> out(new TlsContext(ctx));
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) return tls_error("TLS 1.3");
  if (SSL_CTX_load_verify_locations(ctx, files.ca.c_str(), nullptr) != 1)
    return tls_error("tls.ca " + files.ca);
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1)
    return tls_error("tls.cert " + files.cert);
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return tls_error("tls.key " + files.key);
  if (SSL_CTX_check_private_key(ctx) != 1)
    return tls_error("tls.key " + files.key + " does not belong to tls.cert " + files.cert);
  // Both ends must present a certificate the cluster's CA signed.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  // Resumed sessions would skip the client's certificate check on the server.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::unique_ptr<TlsStream>> TlsStream::create(SSL_CTX* ctx, bool server,
                                                     const std::string& peer_name) {
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return tls_error("TLS connection");
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  if (in == nullptr || out == nullptr) {
    BIO_free(in);
    BIO_free(out);
    SSL_free(ssl);
    return tls_error("TLS buffers");
  }
  SSL_set_bio(ssl, in, out);  // ssl owns both from here
  std::unique_ptr<TlsStream> stream(new TlsStream(ssl, in, out));
  if (server) {
    SSL_set_accept_state(ssl);
  } else {
    if (SSL_set1_host(ssl, peer_name.c_str()) != 1) return tls_error("TLS peer name " + peer_name);
    SSL_set_connect_state(ssl);
  }
  return stream;
}

Result<std::unique_ptr<TlsStream>> TlsStream::server(const TlsContext& context) {
  return create(context.get(), true, "");
}

Result<std::unique_ptr<TlsStream>> TlsStream::client(const TlsContext& context,
                                                     const std::string& peer_name) {
  return create(context.get(), false, peer_name);
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

void TlsStream::put_cipher(const char* data, std::size_t n) {
  // A memory BIO takes everything (it grows); the guard bounds what it reads per step.
  const int put = BIO_write(in_, data, static_cast<int>(n));
  MG_ASSERT_MSG(n == 0 || put == static_cast<int>(n), "memory BIO refused bytes");
}

std::size_t TlsStream::cipher_pending() const { return BIO_ctrl_pending(out_); }

std::size_t TlsStream::take_cipher(char* out, std::size_t n) {
  if (n == 0 || cipher_pending() == 0) return 0;
  const int got = BIO_read(out_, out, static_cast<int>(n));
  return got > 0 ? static_cast<std::size_t>(got) : 0;
}

Status TlsStream::failure(const char* what, int rc) {
  const int e = SSL_get_error(ssl_, rc);
  std::string why;
  if (e == SSL_ERROR_SSL) {
    why = openssl_errors();
    const long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) why += " (" + std::string(X509_verify_cert_error_string(verify)) + ")";
  } else {
    ERR_clear_error();
    why = e == SSL_ERROR_ZERO_RETURN ? "the peer closed the connection"
                                     : "error " + std::to_string(e);
  }
  return Status(StatusCode::io_error, std::string(what) + " failed: " + why);
}

Status TlsStream::handshake() {
  if (established()) return Status::ok();
  ERR_clear_error();
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) return Status::ok();
  const int e = SSL_get_error(ssl_, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Status::ok();
  return failure("TLS handshake", rc);
}

bool TlsStream::established() const { return SSL_is_init_finished(ssl_) == 1; }

Result<ssize_t> TlsStream::read_plain(char* out, std::size_t n) {
  MG_ASSERT(established());
  if (n == 0) return ssize_t{0};
  ERR_clear_error();
  const int got = SSL_read(ssl_, out, static_cast<int>(n));
  if (got > 0) return static_cast<ssize_t>(got);
  const int e = SSL_get_error(ssl_, got);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return ssize_t{0};
  if (e == SSL_ERROR_ZERO_RETURN) return ssize_t{-1};
  return failure("TLS read", got);
}

bool TlsStream::plain_pending() const {
  return SSL_pending(ssl_) > 0 || BIO_ctrl_pending(in_) > 0;
}

Result<std::size_t> TlsStream::write_plain(const char* data, std::size_t n) {
  MG_ASSERT(established());
  if (n == 0) return std::size_t{0};
  ERR_clear_error();
  const int put = SSL_write(ssl_, data, static_cast<int>(n));
  if (put > 0) return static_cast<std::size_t>(put);
  const int e = SSL_get_error(ssl_, put);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return std::size_t{0};
  return failure("TLS write", put);
}

}  // namespace mgraph::node
