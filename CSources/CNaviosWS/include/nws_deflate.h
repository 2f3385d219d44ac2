/*
 * nws_deflate.h — permessage-deflate (RFC 7692): its configuration, and the negotiation of
 * Sec-WebSocket-Extensions offers.
 *
 * Two modes, as uWebSockets has them:
 *   shared     one compressor and one decompressor per loop, and no context kept between
 *              messages in either direction (the answer asks the client for
 *              client_no_context_takeover): an idle connection holds no compression memory,
 *              and a broadcast is compressed once for every member.
 *   dedicated  a compressor and a decompressor per connection, kept across messages (better
 *              ratios for chatty connections); each costs what its window and memory level
 *              say (zlib: about 2^(window+2) + 2^(mem_level+9) bytes to compress, 2^window
 *              plus 7 KiB to decompress), allocated when first used. A client that asks
 *              for server_no_context_takeover gets the shared compressor.
 *
 * The negotiation is a pure function over the offered header value: the first offer the
 * server can accept wins (RFC 7692 §5); an offer with an unknown or repeated parameter, or a
 * window size outside 8..15, is declined and the next one considered.
 *
 * Thread rule: nws_deflate_negotiate is pure; any thread.
 */
#ifndef NWS_DEFLATE_H
#define NWS_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

enum nws_deflate_mode {
    NWS_DEFLATE_OFF = 0,        /* offers are declined: no extension in the answer */
    NWS_DEFLATE_SHARED = 1,
    NWS_DEFLATE_DEDICATED = 2,
};

enum nws_deflate_defaults {
    /* Below this a message goes out as it is: deflate's block header and the 4-byte flush
     * make a short chat line longer, not shorter, and cost more CPU than they save. */
    NWS_DEFAULT_DEFLATE_THRESHOLD = 64,
    NWS_DEFAULT_DEFLATE_LEVEL = 1,          /* fastest: chat text compresses well at any level */
    NWS_DEFAULT_DEFLATE_WINDOW_BITS = 15,
    NWS_DEFAULT_DEFLATE_MEM_LEVEL = 8,
};

/* Zero fields take the defaults above. */
typedef struct nws_deflate_config {
    int mode;                       /* enum nws_deflate_mode */
    uint32_t threshold;             /* messages shorter than this many bytes are not compressed */
    int level;                      /* zlib's level, 1 (fastest) .. 9 */
    uint8_t window_bits;            /* the server's compression window, 8..15 (a client may ask for less) */
    uint8_t mem_level;              /* zlib's memLevel of the compressor, 1..9 */
    uint8_t client_window_bits;     /* dedicated: asked of a client that offers client_max_window_bits,
                                       8..15; the decompressor's window */
} nws_deflate_config;

/* What a negotiation agreed. */
typedef struct nws_deflate_params {
    uint8_t server_no_context_takeover;   /* the server compresses every message on its own */
    uint8_t client_no_context_takeover;   /* the client does */
    uint8_t server_max_window_bits;       /* 8..15: the window of the server's compressor */
    uint8_t client_max_window_bits;       /* 8..15: the window the server's decompressor needs */
} nws_deflate_params;

/* The longest answer nws_deflate_negotiate writes, with its NUL. */
#define NWS_DEFLATE_RESPONSE_MAX 128

/* Reads the offers in value[0..len) (one Sec-WebSocket-Extensions field) against k. Returns 1
 * when one was accepted: *out is what was agreed and response (NWS_DEFLATE_RESPONSE_MAX bytes)
 * the answer's extension, NUL-terminated, with its length in *response_len. Returns 0 when
 * none was (mode off, no permessage-deflate offer, or none acceptable). */
int nws_deflate_negotiate(const nws_deflate_config *k, const char *value, size_t len, nws_deflate_params *out,
                          char response[NWS_DEFLATE_RESPONSE_MAX], size_t *response_len);

#endif
