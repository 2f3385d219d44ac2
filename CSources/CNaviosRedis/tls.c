/*
 * tls.c — OpenSSL for the Redis link: one client context per link, one session per
 * connection. The sockets stay ours (SSL_set_fd on the non-blocking socket); conn.c drives
 * the handshake and the records, retrying on WANT_READ / WANT_WRITE.
 */
#include "redis_internal.h"   /* first: it sets _GNU_SOURCE */

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

static void queue_error(const char *what, char *err, size_t errlen) {
    unsigned long e = ERR_get_error();
    char detail[160] = "unknown error";
    if (e != 0) ERR_error_string_n(e, detail, sizeof detail);
    snprintf(err, errlen, "%s: %s", what, detail);
    ERR_clear_error();
}

SSL_CTX *nws__redis_tls_ctx(const nws_redis_config *cfg, char *err, size_t errlen) {
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        queue_error("TLS context", err, errlen);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* Partial writes: the write buffer is drained as the socket accepts it. Moving buffer:
     * between a WANT_WRITE and its retry the buffer may have been grown (realloc) or had
     * commands appended; OpenSSL only needs the same leading bytes again. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    /* A Redis that dies sends no close_notify; that is "closed", not a protocol error. Every
     * reply is self-delimiting RESP, so a truncation cannot pass for a complete answer. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif

    if (cfg->tls_verify || cfg->tls_ca_file != NULL) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        int ok = cfg->tls_ca_file != NULL
                     ? SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            queue_error("TLS CA file", err, errlen);
            SSL_CTX_free(ctx);
            return NULL;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }

    if (cfg->tls_cert_file != NULL) {
        const char *key = cfg->tls_key_file ? cfg->tls_key_file : cfg->tls_cert_file;
        if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            queue_error("TLS client certificate", err, errlen);
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    return ctx;
}

static int is_ip_literal(const char *name) {
    unsigned char addr[16];
    return inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
}

SSL *nws__redis_tls_new(SSL_CTX *ctx, int fd, const char *server_name, char *err, size_t errlen) {
    ERR_clear_error();
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        queue_error("TLS session", err, errlen);
        SSL_free(ssl);
        return NULL;
    }
    int ip = is_ip_literal(server_name);
    /* SNI carries host names only (RFC 6066 section 3); an address is checked against the
     * certificate's IP entries instead of its DNS names. */
    if (!ip) SSL_set_tlsext_host_name(ssl, server_name);
    if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) {
        int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name)
                    : SSL_set1_host(ssl, server_name);
        if (ok != 1) {
            queue_error("TLS server name", err, errlen);
            SSL_free(ssl);
            return NULL;
        }
    }
    SSL_set_connect_state(ssl);
    return ssl;
}

void nws__redis_tls_error(SSL *ssl, const char *what, char *err, size_t errlen) {
    /* Without verification the result still records a self-signed certificate: only blame
     * the certificate when it was being checked. */
    long v = ssl && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) ? SSL_get_verify_result(ssl)
                                                                : X509_V_OK;
    if (v != X509_V_OK) {
        snprintf(err, errlen, "%s: certificate verification failed: %s", what,
                 X509_verify_cert_error_string(v));
        ERR_clear_error();
        return;
    }
    if (ERR_peek_error() == 0) {
        snprintf(err, errlen, "%s: connection closed", what);
        return;
    }
    queue_error(what, err, errlen);
}
