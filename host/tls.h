/*
 * host/tls.h: OpenSSL server contexts for the HTTP listeners (internal).
 * A context is created on the main thread before the server starts and is
 * then shared read-only by every I/O thread (SSL_new per connection is
 * thread-safe on a const SSL_CTX with OpenSSL >= 1.1).
 */
#ifndef AION_HOST_TLS_H
#define AION_HOST_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

/* Creates a TLS server context (TLS 1.2+) from PEM files. client_ca may be
 * NULL; when set, clients must present a certificate signed by it. Returns
 * the context (caller frees with SSL_CTX_free) or NULL with err filled. */
SSL_CTX *host_tls_server_ctx(const char *cert_file, const char *key_file,
                             const char *client_ca, char *err, size_t errlen);

#endif
