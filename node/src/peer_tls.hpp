#pragma once
// TLS on a node's peer links, for the peer guard (peer_guard.hpp). The guard keeps owning
// the sockets and reading BASP frames: a TlsStream only turns ciphertext into plaintext and
// back through memory buffers (OpenSSL memory BIOs), so it never blocks and never touches a
// socket, and the guard's poll() loop, bounds and frame checks stay as they are.
//
// Both ends present a certificate and verify the other's against the cluster's CA (mutual
// TLS, TLS 1.3 only): a node whose certificate the CA did not sign cannot complete a
// handshake, so it never reaches CAF. A client also checks that the server's certificate
// names the node it meant to reach (its subjectAltName DNS entry or common name).

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string>
#include <sys/types.h>

#include "mgraph/graph/status.hpp"

namespace mgraph::node {

/// Where a node's TLS material lives (PEM files).
struct TlsFiles {
  std::string ca;    ///< the cluster CA's certificate
  std::string cert;  ///< this node's certificate, signed by the CA
  std::string key;   ///< its private key
  friend bool operator==(const TlsFiles&, const TlsFiles&) = default;
};

/// A node's TLS configuration, shared by all its links. Thread-safety: immutable once
/// loaded; streams may be made from it on any thread.
class TlsContext {
 public:
  /// Loads the CA, the certificate and the key; errors name the file and OpenSSL's reason.
  static Result<std::shared_ptr<const TlsContext>> load(const TlsFiles& files);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

/// One TLS connection driven through memory: ciphertext in from the peer's socket
/// (put_cipher), plaintext out (read_plain); plaintext in (write_plain), ciphertext out for
/// the socket (take_cipher). Any of them may advance the handshake.
class TlsStream {
 public:
  /// A server end (accepting), or a client end expecting the peer to be `peer_name`.
  static Result<std::unique_ptr<TlsStream>> server(const TlsContext& context);
  static Result<std::unique_ptr<TlsStream>> client(const TlsContext& context,
                                                   const std::string& peer_name);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  /// Hands `n` bytes read from the socket to TLS.
  void put_cipher(const char* data, std::size_t n);
  /// Ciphertext waiting for the socket, in bytes.
  std::size_t cipher_pending() const;
  /// Moves up to `n` bytes of ciphertext for the socket into `out`; how many.
  std::size_t take_cipher(char* out, std::size_t n);
  /// Advances the handshake; an error (io_error: the handshake failed, with OpenSSL's
  /// reason, e.g. "certificate verify failed") ends the connection.
  Status handshake();
  bool established() const;
  /// Plaintext into `out`: bytes read (0: none yet), or -1 at the peer's close_notify.
  /// REQUIRES: established(). An error fails the Result.
  Result<ssize_t> read_plain(char* out, std::size_t n);
  /// Whether plaintext or unprocessed ciphertext is buffered inside (read_plain may give
  /// more without a new byte from the socket).
  bool plain_pending() const;
  /// Encrypts up to `n` bytes of plaintext; how many it took (0: none now).
  /// REQUIRES: established().
  Result<std::size_t> write_plain(const char* data, std::size_t n);

 private:
  explicit TlsStream(SSL* ssl, BIO* in, BIO* out) : ssl_(ssl), in_(in), out_(out) {}
  static Result<std::unique_ptr<TlsStream>> create(SSL_CTX* ctx, bool server,
                                                   const std::string& peer_name);
  Status failure(const char* what, int rc);
  SSL* ssl_;
  BIO* in_;   ///< ciphertext from the peer (owned by ssl_)
  BIO* out_;  ///< ciphertext to the peer (owned by ssl_)
};

}  // namespace mgraph::node
