/*
 * nws_tls.h — TLS (wss:// and https://) in the core, with OpenSSL 3: the configuration, and
 * reloading certificates while the server runs.
 *
 * TLS runs on the loop threads, through OpenSSL with a BIO of the core's own: records are
 * read from the bytes the backend received and written into the connection's outgoing
 * buffer, which the backend sends like any queue (io_uring and epoll alike). What the
 * connection queues is plaintext until the end of its loop iteration, then sealed into
 * records in one pass: a burst of frames leaves in few records.
 * Kernel TLS is not used: it needs the kernel's tls module (tcp_available_ulp lists "tls"),
 * which many hosts and containers lack.
 *
 * The handshake timeout (config.handshake_timeout_ms) covers the TLS handshake and the upgrade
 * request together. A client that sends plain HTTP to the TLS port gets a plain 400 answer
 * and is closed; any other handshake failure closes the connection (with OpenSSL's alert).
 *
 * Thread rule: nws_server_tls_reload may be called from any thread; connections already open
 * keep the certificates they were served.
 */
#ifndef NWS_TLS_H
#define NWS_TLS_H

#include <stddef.h>

/* One certificate chain and its key, from PEM files or PEM text. */
typedef struct nws_tls_cert {
    const char *cert_file;          /* the chain, leaf first (PEM); or NULL and cert_pem */
    const char *key_file;           /* its private key (PEM); or NULL and key_pem */
    const char *cert_pem;           /* the chain as PEM text (NUL-terminated) */
    const char *key_pem;
    const char *server_name;        /* SNI: the host name it serves ("*.example.com": one label);
                                       NULL for the default (certs[0] is the default anyway) */
} nws_tls_cert;

typedef struct nws_tls_config {
    const nws_tls_cert *certs;      /* TLS is off when cert_count is 0 */
    size_t cert_count;
    const char *client_ca_file;     /* mTLS: client certificates are verified against these CAs */
    int client_cert_optional;       /* with client_ca_file: 1 lets clients without one in */
    int min_version;                /* 12 (TLS 1.2, the default) or 13 */
} nws_tls_config;

typedef struct nws_server nws_server;

/* Replaces the certificates (and client CAs) for the connections accepted from now on; open
 * connections are not touched. 0, or NWS_EINVAL (TLS is off on this server, or a file does not
 * load: the certificates in use stay). Any thread. */
int nws_server_tls_reload(nws_server *s, const nws_tls_config *tls);

#endif
