/*
 * frame.c — RFC 6455 §5 frame decoder and encoder (contract in nws_frame.h).
 *
 * The decoder is a three-state machine: header, data payload, control payload. A header
 * that is whole in the caller's buffer (the usual case) is parsed where it lies; only a
 * header cut by a read boundary is spilled into d->header. Each rule is checked at the
 * earliest byte that decides it: the first two header bytes settle RSV bits, opcode, mask
 * bit, control-frame FIN and size, and fragmentation order, before the extended length has
 * even arrived; the extended length settles minimal encoding and the size caps before any
 * payload byte is reported. Data payload is unmasked in place and reported as it arrives
 * (one chunk per call), and so is a control payload that is whole in the buffer, so memory per
 * connection stays this struct whatever the peer sends; only a control payload cut by a read
 * boundary needs a copy (at most 125 bytes, made once per decoder).
 */
#include <stdlib.h>
#include <string.h>

#include "nws_error.h"
#include "nws_frame.h"
#include "nws_mask.h"
#include "nws_utf8.h"

enum { ST_HEADER = 0, ST_DATA, ST_CONTROL, ST_FAILED };

/* Header byte 0. */
#define B0_FIN 0x80
#define B0_RSV1 0x40
#define B0_RSV2 0x20
#define B0_RSV3 0x10
#define B0_OPCODE 0x0F
/* Header byte 1. */
#define B1_MASK 0x80
#define B1_LEN 0x7F
/* Values of the 7-bit length that announce an extended length. */
#define LEN7_16BIT 126
#define LEN7_64BIT 127

static inline int is_control(uint8_t opcode) {
    return (opcode & 0x8) != 0;
}

static inline size_t min_size(size_t a, uint64_t b) {
    return b < a ? (size_t)b : a;
}

/* A limit as the decoder keeps it: it counts in 32 bits, so "none" (0) and anything larger
 * are NWS_DECODER_LIMIT_MAX. */
static uint32_t decoder_limit(uint64_t limit) {
    return limit == 0 || limit > NWS_DECODER_LIMIT_MAX ? NWS_DECODER_LIMIT_MAX : (uint32_t)limit;
}

void nws_decoder_init(nws_decoder *d, const nws_decoder_limits *limits) {
    memset(d, 0, sizeof *d);
    if (limits != NULL) {
        d->max_frame = decoder_limit(limits->max_frame);
        d->max_message = decoder_limit(limits->max_message);
        d->require_mask = limits->require_mask;
        d->allow_rsv1 = limits->allow_rsv1;
    } else {
        d->max_frame = d->max_message = NWS_DECODER_LIMIT_MAX;
    }
    d->small_fast = d->require_mask && d->max_frame >= LEN7_16BIT - 1 && d->max_message >= LEN7_16BIT - 1;
    d->state = ST_HEADER;
}

void nws_decoder_free(nws_decoder *d) {
    free(d->control);
    d->control = NULL;
}

static int fail(nws_decoder *d, int err) {
    d->state = ST_FAILED;
    d->error = (int8_t)err;
    return err;
}

/* Everything the first two header bytes decide. Returns the header's whole length or an
 * NWS_E*. Reads the decoder but does not change it, so the spill path may call it again. */
static inline int header_start(const nws_decoder *d, uint8_t b0, uint8_t b1) {
    if (b0 & (B0_RSV2 | B0_RSV3)) {
        return NWS_ERSV;
    }
    switch (b0 & B0_OPCODE) {
    case NWS_OP_CONTINUATION:
        if (d->message_opcode == 0) {
            return NWS_ECONTINUATION;
        }
        if (b0 & B0_RSV1) {
            return NWS_ERSV; /* RFC 7692 §6: RSV1 only on a message's first frame */
        }
        break;
    case NWS_OP_TEXT:
    case NWS_OP_BINARY:
        if (d->message_opcode != 0) {
            return NWS_EINTERLEAVED;
        }
        if ((b0 & B0_RSV1) && !d->allow_rsv1) {
            return NWS_ERSV;
        }
        break;
    case NWS_OP_CLOSE:
    case NWS_OP_PING:
    case NWS_OP_PONG:
        if (b0 & B0_RSV1) {
            return NWS_ERSV;
        }
        if (!(b0 & B0_FIN) || (b1 & B1_LEN) > NWS_CONTROL_MAX) {
            return NWS_ECONTROL;
        }
        break;
    default:
        return NWS_EOPCODE;
    }
    int masked = (b1 & B1_MASK) != 0;
    if (d->require_mask && !masked) {
        return NWS_EUNMASKED;
    }
    if (!d->require_mask && masked) {
        return NWS_EPROTO; /* §5.1: a server must not mask */
    }
    uint8_t len7 = b1 & B1_LEN;
    int need = 2 + (masked ? 4 : 0);
    if (len7 == LEN7_16BIT) {
        need += 2;
    } else if (len7 == LEN7_64BIT) {
        need += 8;
    }
    return need;
}

/* The rest of a complete header h (already passed header_start): length, mask key, caps,
 * and the start of a new message. */
static inline int header_finish(nws_decoder *d, const uint8_t *h) {
    uint8_t opcode = h[0] & B0_OPCODE;
    uint8_t len7 = h[1] & B1_LEN;
    uint64_t payload_len = len7;
    size_t at = 2;
    if (len7 == LEN7_16BIT) {
        payload_len = (uint64_t)h[2] << 8 | h[3];
        if (payload_len < LEN7_16BIT) {
            return NWS_ELENGTH;
        }
        at = 4;
    } else if (len7 == LEN7_64BIT) {
        payload_len = 0;
        for (int i = 0; i < 8; i++) {
            payload_len = payload_len << 8 | h[2 + i];
        }
        if ((payload_len >> 63) != 0 || payload_len <= 0xFFFF) {
            return NWS_ELENGTH;
        }
        at = 10;
    }
    if (h[1] & B1_MASK) {
        memcpy(d->mask, h + at, 4);
    }
    d->opcode = opcode;
    d->fin = (h[0] & B0_FIN) != 0;
    d->mask_phase = 0;
    if (is_control(opcode)) {
        d->remaining = (uint32_t)payload_len;   /* at most 125: header_start checked */
        d->control_len = 0;
        d->state = ST_CONTROL;
        return 0;
    }
    if (payload_len > d->max_frame) {
        return NWS_ETOOBIG;
    }
    /* message_len <= max_message holds here, so the subtraction cannot wrap. */
    uint32_t so_far = opcode == NWS_OP_CONTINUATION ? d->message_len : 0;
    if (payload_len > d->max_message - so_far) {
        return NWS_ETOOBIG;
    }
    d->remaining = (uint32_t)payload_len;   /* at most max_frame: 32 bits */
    if (opcode != NWS_OP_CONTINUATION) {
        d->message_opcode = opcode;
        d->message_rsv1 = (h[0] & B0_RSV1) != 0;
        d->message_len = 0;
        d->utf8_state = NWS_UTF8_ACCEPT;
        d->check_utf8 = opcode == NWS_OP_TEXT && !d->message_rsv1;
    }
    d->state = ST_DATA;
    return 0;
}

/* Copies header bytes into d->header. *status: 1 when the header is complete, 0 when more
 * bytes are needed, or an NWS_E*. Returns the bytes taken from p. */
static size_t spill(nws_decoder *d, const uint8_t *p, size_t avail, int *status) {
    size_t used = 0;
    if (d->header_len < 2) {
        used = min_size(avail, 2u - d->header_len);
        memcpy(d->header + d->header_len, p, used);
        d->header_len = (uint8_t)(d->header_len + used);
        if (d->header_len < 2) {
            *status = 0;
            return used;
        }
        int need = header_start(d, d->header[0], d->header[1]);
        if (need < 0) {
            *status = need;
            return used;
        }
        d->header_need = (uint8_t)need;
    }
    size_t n = min_size(avail - used, (uint64_t)(d->header_need - d->header_len));
    memcpy(d->header + d->header_len, p + used, n);
    d->header_len = (uint8_t)(d->header_len + n);
    *status = d->header_len == d->header_need;
    return used + n;
}

/* Takes p[0..n) of the current data frame (n may be 0 only for an empty frame). */
static inline int data_chunk(nws_decoder *d, uint8_t *p, size_t n, nws_decoded *out) {
    if (d->require_mask && n != 0) {
        nws_mask(p, n, d->mask, d->mask_phase);
        d->mask_phase = (uint8_t)((d->mask_phase + n) & 3);
    }
    d->remaining -= n;
    int first = d->message_len == 0;
    int last = d->remaining == 0 && d->fin;
    d->message_len += n;
    if (d->check_utf8) {
        uint32_t s = nws_utf8_step(d->utf8_state, p, n);
        if (s == NWS_UTF8_REJECT || (last && s != NWS_UTF8_ACCEPT)) {
            return NWS_EUTF8;
        }
        d->utf8_state = s;
    }
    if (d->remaining == 0) {
        d->state = ST_HEADER;
    }
    if (n == 0 && !last) {
        return 0; /* an empty middle fragment carries nothing worth an event */
    }
    out->kind = NWS_DECODED_DATA;
    out->opcode = d->message_opcode;
    out->first = (uint8_t)first;
    out->last = (uint8_t)last;
    out->compressed = d->message_rsv1;
    out->data = p;
    out->len = n;
    if (last) {
        d->message_opcode = 0;
        d->message_rsv1 = 0;
        d->message_len = 0;
        d->check_utf8 = 0;
    }
    return 0;
}

/* Part of a control payload cut by a read boundary, gathered in the decoder. */
static int control_take(nws_decoder *d, const uint8_t *p, size_t n) {
    if (d->control == NULL && (d->control = malloc(NWS_CONTROL_MAX)) == NULL) {
        return NWS_ENOMEM;
    }
    uint8_t *dst = d->control + d->control_len;
    if (d->require_mask) {
        nws_mask_copy(dst, p, n, d->mask, d->mask_phase);
        d->mask_phase = (uint8_t)((d->mask_phase + n) & 3);
    } else {
        memcpy(dst, p, n);
    }
    d->control_len = (uint8_t)(d->control_len + n);
    d->remaining -= n;
    return 0;
}

/* A control frame's whole payload, data[0..len): in the caller's buffer or the decoder's. */
static int control_done(nws_decoder *d, const uint8_t *data, size_t len, nws_decoded *out) {
    uint16_t code = 0;
    if (d->opcode == NWS_OP_CLOSE) {
        if (len == 0) {
            code = NWS_CLOSE_NO_STATUS;
        } else if (len == 1) {
            return NWS_ECLOSECODE;
        } else {
            code = (uint16_t)(data[0] << 8 | data[1]);
            if (!nws_close_code_valid(code)) {
                return NWS_ECLOSECODE;
            }
            data += 2;
            len -= 2;
            if (!nws_utf8_valid(data, len)) {
                return NWS_EUTF8;
            }
        }
    }
    d->state = ST_HEADER;
    out->kind = NWS_DECODED_CONTROL;
    out->opcode = d->opcode;
    out->close_code = code;
    out->data = data;
    out->len = len;
    return 0;
}

/* The frame a chat or echo server mostly sees: a small, whole, final, masked text or binary
 * frame with no message open and no RSV bit but a negotiated RSV1. Decoded here in one step, without spilling or
 * the general state machine; anything else takes the general path. Returns 0 when it does
 * not apply. Only a decoder whose limits no such frame can cross comes here (small_fast). */
static ssize_t decode_small_frame(nws_decoder *d, uint8_t *buf, size_t len, nws_decoded *out) {
    uint8_t b0 = buf[0], b1 = buf[1];
    size_t plen = b1 & B1_LEN;
    if (b0 != (B0_FIN | NWS_OP_TEXT) && b0 != (B0_FIN | NWS_OP_BINARY)) {
        /* A compressed message (RSV1, where negotiated) takes this path too; its text is
         * checked once inflated. Tested second, so that the plain frame pays nothing for it. */
        uint8_t plain = b0 & (uint8_t)~B0_RSV1;
        if (!d->allow_rsv1 || plain == b0 || (plain != (B0_FIN | NWS_OP_TEXT) && plain != (B0_FIN | NWS_OP_BINARY)))
            return 0;
    }
    if (!(b1 & B1_MASK) || plen >= LEN7_16BIT || len < 6 + plen) {
        return 0;
    }
    uint8_t *p = buf + 6;
    nws_mask(p, plen, buf + 2, 0);
    if (b0 == (B0_FIN | NWS_OP_TEXT) && nws_utf8_step(NWS_UTF8_ACCEPT, p, plen) != NWS_UTF8_ACCEPT) {
        return fail(d, NWS_EUTF8);
    }
    out->kind = NWS_DECODED_DATA;
    out->opcode = b0 & B0_OPCODE;
    out->first = 1;
    out->last = 1;
    out->compressed = (b0 & B0_RSV1) != 0;
    out->close_code = 0;
    out->data = p;
    out->len = plen;
    return (ssize_t)(6 + plen);
}

ssize_t nws_decode(nws_decoder *d, uint8_t *buf, size_t len, nws_decoded *out) {
    if (d->state == ST_HEADER && d->header_len == 0 && d->message_opcode == 0 && d->small_fast && len >= 6) {
        ssize_t n = decode_small_frame(d, buf, len, out);
        if (n != 0) {
            return n;
        }
    }
    *out = (nws_decoded){0};
    if (d->state == ST_FAILED) {
        return d->error;
    }
    size_t pos = 0;
    while (pos < len) {
        int r;
        if (d->state == ST_HEADER) {
            const uint8_t *h = NULL;
            size_t avail = len - pos;
            if (d->header_len == 0 && avail >= 2) {
                r = header_start(d, buf[pos], buf[pos + 1]);
                if (r < 0) {
                    return fail(d, r);
                }
                if (avail >= (size_t)r) {
                    h = buf + pos;
                    pos += (size_t)r;
                }
            }
            if (h == NULL) {
                pos += spill(d, buf + pos, avail, &r);
                if (r < 0) {
                    return fail(d, r);
                }
                if (r == 0) {
                    break;
                }
                h = d->header;
                d->header_len = 0;
            }
            r = header_finish(d, h);
            if (r < 0) {
                return fail(d, r);
            }
            if (d->remaining != 0) {
                continue;
            }
            /* An empty frame ends here, whether or not more bytes follow. */
            r = d->state == ST_CONTROL ? control_done(d, buf + pos, 0, out) : data_chunk(d, buf + pos, 0, out);
            if (r < 0) {
                return fail(d, r);
            }
            if (out->kind != NWS_DECODED_NONE) {
                break;
            }
            continue;
        }
        size_t n = min_size(len - pos, d->remaining);
        if (d->state == ST_DATA) {
            r = data_chunk(d, buf + pos, n, out);
            pos += n;
            if (r < 0) {
                return fail(d, r);
            }
            break;
        }
        if (d->control_len == 0 && n == d->remaining) {
            /* Whole here: unmasked in place, as a data payload is. */
            uint8_t *p = buf + pos;
            if (d->require_mask) {
                nws_mask(p, n, d->mask, 0);
            }
            d->remaining = 0;
            pos += n;
            r = control_done(d, p, n, out);
            if (r < 0) {
                return fail(d, r);
            }
            break;
        }
        r = control_take(d, buf + pos, n);
        if (r < 0) {
            return fail(d, r);
        }
        pos += n;
        if (d->remaining == 0) {
            r = control_done(d, d->control, d->control_len, out);
            if (r < 0) {
                return fail(d, r);
            }
            break;
        }
    }
    return (ssize_t)pos;
}

size_t nws_frame_header(uint8_t *out, uint8_t opcode, int fin, int rsv1, uint64_t payload_len,
                        const uint8_t *mask_key) {
    out[0] = (uint8_t)((fin ? B0_FIN : 0) | (rsv1 ? B0_RSV1 : 0) | (opcode & B0_OPCODE));
    uint8_t mask_bit = mask_key != NULL ? B1_MASK : 0;
    size_t n;
    if (payload_len < LEN7_16BIT) {
        out[1] = (uint8_t)(mask_bit | payload_len);
        n = 2;
    } else if (payload_len <= 0xFFFF) {
        out[1] = mask_bit | LEN7_16BIT;
        out[2] = (uint8_t)(payload_len >> 8);
        out[3] = (uint8_t)payload_len;
        n = 4;
    } else {
        out[1] = mask_bit | LEN7_64BIT;
        for (int i = 0; i < 8; i++) {
            out[2 + i] = (uint8_t)(payload_len >> (56 - 8 * i));
        }
        n = 10;
    }
    if (mask_key != NULL) {
        memcpy(out + n, mask_key, 4);
        n += 4;
    }
    return n;
}

size_t nws_close_payload(uint8_t *out, uint16_t code, const char *reason, size_t reason_len) {
    if (code == 0) {
        return 0;
    }
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    const size_t room = NWS_CONTROL_MAX - 2;
    if (reason_len > room) {
        /* Cut before the character that would straddle the limit: a cut is on a boundary
         * exactly when the first byte left out is not a continuation byte. */
        reason_len = room;
        while (reason_len > 0 && ((uint8_t)reason[reason_len] & 0xC0) == 0x80) {
            reason_len--;
        }
    }
    if (reason_len != 0) {
        memcpy(out + 2, reason, reason_len);
    }
    return 2 + reason_len;
}

int nws_close_code_valid(uint16_t code) {
    /* 1004-1006 and 1015 are reserved or must never be sent; 1012-1014 were registered
     * after RFC 6455 and are still rejected by the Autobahn testsuite we test against. */
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
           (code >= 3000 && code <= 4999);
}
