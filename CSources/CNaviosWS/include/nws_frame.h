/*
 * nws_frame.h — RFC 6455 §5 frame decoder and encoder.
 *
 * Decoder: a resumable state machine over the caller's bytes. It never copies a data payload:
 * payload bytes are unmasked in place in the caller's buffer and reported as chunks (pointer +
 * length into that buffer). So is a control frame's payload when it is whole in the buffer. A
 * frame header split across reads is spilled into the decoder (at most 14 bytes); a control
 * payload split across reads is gathered in 125 bytes the decoder allocates at the first such
 * frame and keeps until nws_decoder_free (a decoder that never meets one never allocates).
 * Either way the caller may reuse its read buffer as soon as it has handled the event.
 * Every rule that can be checked from a header (RSV bits, opcode, mask bit, control frame
 * size and FIN, minimal length encoding, fragmentation order, frame and message size caps)
 * is checked as soon as the header is complete, before any payload byte is reported.
 * Text is UTF-8 validated incrementally, so an invalid sequence fails at the first chunk
 * that contains it.
 *
 * Encoder: writes a frame header in front of a payload the caller owns. Server frames are
 * unmasked; client frames (the load harness) carry a mask key and the caller masks the
 * payload with nws_mask. A frame encoded once can be sent to any number of connections.
 *
 * Thread rule: a decoder belongs to one thread at a time; the encoder is pure.
 */
#ifndef NWS_FRAME_H
#define NWS_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum nws_opcode {
    NWS_OP_CONTINUATION = 0x0,
    NWS_OP_TEXT = 0x1,
    NWS_OP_BINARY = 0x2,
    NWS_OP_CLOSE = 0x8,
    NWS_OP_PING = 0x9,
    NWS_OP_PONG = 0xA,
};

/* RFC 6455 §7.4.1 codes the core itself sends or reports. */
enum nws_close_code {
    NWS_CLOSE_NORMAL = 1000,
    NWS_CLOSE_GOING_AWAY = 1001,
    NWS_CLOSE_PROTOCOL_ERROR = 1002,
    NWS_CLOSE_UNSUPPORTED = 1003,
    NWS_CLOSE_NO_STATUS = 1005,   /* reported when a close frame had no code; never sent */
    NWS_CLOSE_ABNORMAL = 1006,    /* reported when TCP closed without a close frame; never sent */
    NWS_CLOSE_INVALID_DATA = 1007,
    NWS_CLOSE_POLICY = 1008,
    NWS_CLOSE_TOO_BIG = 1009,
    NWS_CLOSE_INTERNAL_ERROR = 1011,
    NWS_CLOSE_TRY_AGAIN_LATER = 1013,
};

#define NWS_FRAME_HEADER_MAX 14   /* 2 + 8 (64-bit length) + 4 (mask key) */
#define NWS_CONTROL_MAX 125

typedef struct nws_decoder_limits {
    uint64_t max_frame;     /* payload bytes in one data frame; 0 = the largest the decoder
                               keeps, NWS_DECODER_LIMIT_MAX (control frames are capped at 125
                               by the RFC) */
    uint64_t max_message;   /* payload bytes in one (reassembled) message; 0 = the largest */
    uint8_t require_mask;   /* 1 on a server: unmasked client frames are NWS_EUNMASKED;
                               0 on a client: masked server frames are NWS_EPROTO */
    uint8_t allow_rsv1;     /* 1 when permessage-deflate was negotiated */
} nws_decoder_limits;
/* The largest limit a decoder keeps: it counts in 32 bits (it lives in every connection), and
 * a larger limit, or none, is read as this. */
#define NWS_DECODER_LIMIT_MAX UINT32_MAX

/* Opaque in spirit: fields are public only so the decoder can live inside a connection. */
typedef struct nws_decoder {
    uint32_t remaining;     /* payload bytes of the current frame not yet consumed */
    uint32_t message_len;   /* payload bytes of the current data message so far (consumed,
                               not declared: 0 until its first non-empty chunk is reported) */
    uint32_t max_frame;     /* the limits (nws_decoder_limits), at most NWS_DECODER_LIMIT_MAX */
    uint32_t max_message;
    uint32_t utf8_state;    /* validator state across the chunks of a text message */
    uint8_t state;          /* internal: header or payload */
    uint8_t header_len;     /* header bytes spilled so far */
    uint8_t header_need;    /* header bytes needed once the length byte is known */
    uint8_t opcode;         /* of the current frame */
    uint8_t fin;
    uint8_t message_opcode; /* TEXT or BINARY while a data message is open, else 0 */
    uint8_t message_rsv1;   /* the open message is compressed (validate UTF-8 after inflate) */
    uint8_t mask_phase;     /* bytes of the current frame unmasked so far, mod 4 */
    uint8_t mask[4];
    uint8_t header[NWS_FRAME_HEADER_MAX];
    uint8_t control_len;
    int8_t error;           /* once the peer broke the protocol: that NWS_E*, returned again
                               by every later nws_decode call */
    uint8_t check_utf8;     /* the open message is uncompressed text. Its own byte, away from
                               the fields written per header, so testing it never needs a wide
                               load over bytes just stored (a store-forwarding stall) */
    uint8_t require_mask;   /* the limits' */
    uint8_t allow_rsv1;
    uint8_t small_fast;     /* masks required and no limit under 126 bytes: a whole small frame
                               takes the one-step path, which then checks no limit */
    uint8_t *control;       /* NWS_CONTROL_MAX bytes for a control payload cut by a read
                               boundary, made at the first one; NULL until then */
} nws_decoder;

enum nws_decoded_kind {
    NWS_DECODED_NONE = 0,     /* bytes consumed, nothing to report yet */
    NWS_DECODED_DATA = 1,     /* a chunk of a text or binary message */
    NWS_DECODED_CONTROL = 2,  /* a whole ping, pong or close frame */
};

typedef struct nws_decoded {
    uint8_t kind;             /* enum nws_decoded_kind */
    uint8_t opcode;           /* DATA: TEXT or BINARY (the message's, also for continuations);
                                 CONTROL: CLOSE, PING or PONG */
    uint8_t first;            /* DATA: this chunk starts the message */
    uint8_t last;             /* DATA: this chunk ends the message (FIN frame fully consumed) */
    uint8_t compressed;       /* DATA: RSV1 was set on the message's first frame */
    uint16_t close_code;      /* CONTROL close: the code, or NWS_CLOSE_NO_STATUS when empty */
    const uint8_t *data;      /* DATA: unmasked, inside the caller's buffer;
                                 CONTROL: inside the caller's buffer, or the decoder's when
                                 the payload was split (close: the reason only) */
    size_t len;
} nws_decoded;

void nws_decoder_init(nws_decoder *d, const nws_decoder_limits *limits);
/* Frees what the decoder allocated (see above); it may be initialised again afterwards. */
void nws_decoder_free(nws_decoder *d);

/* Consumes bytes of buf[0..len) and returns how many (0 < n <= len when len > 0), or a
 * negative NWS_E* when the peer broke the protocol (nws_err_close_code gives the close code
 * to answer with). When out->kind is not NWS_DECODED_NONE an event is ready and the caller
 * must handle it before calling again with buf + n, len - n. At most one event per call.
 * A DATA chunk may be empty (an empty message, or an empty final fragment); an empty
 * non-final fragment reports nothing, and the message's first chunk (first = 1) is then the
 * next one reported. Each DATA chunk is the part of one frame's payload present in buf.
 * After an error the decoder is spent: later calls return the same error. NWS_ENOMEM when a
 * split control payload finds no memory. */
ssize_t nws_decode(nws_decoder *d, uint8_t *buf, size_t len, nws_decoded *out);

/* Writes a frame header to out (NWS_FRAME_HEADER_MAX bytes of room) and returns its length
 * (2, 4 or 10, plus 4 with a mask key); payload_len must be below 2^63. mask_key NULL: a server frame (unmasked). Otherwise the key is written after the length
 * and the caller masks the payload with nws_mask(payload, len, mask_key, 0). */
size_t nws_frame_header(uint8_t *out, uint8_t opcode, int fin, int rsv1, uint64_t payload_len,
                        const uint8_t *mask_key);

/* Writes a close payload (code in network order + reason, the reason cut at a UTF-8
 * boundary to fit 125 bytes, i.e. at most 123 bytes of reason) to out (NWS_CONTROL_MAX bytes of room); returns its length.
 * code 0 writes an empty payload. */
size_t nws_close_payload(uint8_t *out, uint16_t code, const char *reason, size_t reason_len);

/* 1 when a peer may send this code in a close frame (RFC 6455 §7.4): 1000-1003, 1007-1011
 * and 3000-4999, the set the Autobahn testsuite (cases 7.7.*, 7.9.*) expects. */
int nws_close_code_valid(uint16_t code);

#endif
