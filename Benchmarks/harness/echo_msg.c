/*
 * echo_msg.c — echo_msg.h: numbered messages out, their answers checked chunk by chunk (an
 * answer may arrive split over several reads or fragmented into several frames).
 */
#include "echo_msg.h"

#include <stdlib.h>
#include <string.h>

#include "nws_mask.h"
#include "report.h"

static const char hex_digits[] = "0123456789abcdef";

const char *echo_msg_check(bench_opts *o) {
    if (o->protocol == PROTO_UNSET) o->protocol = PROTO_RAW;
    if (o->protocol == PROTO_BROADCAST) return "--protocol broadcast is for fanout; echo takes raw, gateway or socketio";
    if (o->protocol != PROTO_RAW && o->binary) return "gateway and Socket.IO events are JSON text: --binary does not apply";
    return NULL;
}

void report_protocol(report *r, const bench_opts *o) {
    report_param_str(r, "protocol", o->protocol == PROTO_GATEWAY ? "gateway" : o->protocol == PROTO_SOCKETIO ? "socketio" : "raw");
    if (o->protocol != PROTO_RAW) report_param_str(r, "event", o->event);
}

int echo_msg_init(echo_msg *m, const bench_opts *o) {
    *m = (echo_msg){0};
    size_t size = o->size;
    m->body = malloc(size ? size : 1);
    if (m->body == NULL) return -1;
    /* Letters: valid UTF-8, and nothing a JSON string would have to escape. */
    for (size_t i = 0; i < size; i++) m->body[i] = (uint8_t)('a' + i % 26);
    m->size = size;
    m->opcode = o->binary ? NWS_OP_BINARY : NWS_OP_TEXT;
    m->verify = (uint8_t)o->verify;
    if (o->protocol == PROTO_GATEWAY) return echo_gw_init(m, o->event);
    if (o->protocol == PROTO_SOCKETIO) return echo_sio_init(m, o->event);
    m->numbered = size >= ECHO_SEQ_DIGITS;
    return 0;
}

void echo_msg_free(echo_msg *m) {
    free(m->body);
    free(m->request);
    free(m->answer);
    *m = (echo_msg){0};
}

static void format_seq(uint8_t out[ECHO_SEQ_DIGITS], uint64_t seq) {
    for (int i = ECHO_SEQ_DIGITS - 1; i >= 0; i--) {
        out[i] = (uint8_t)hex_digits[seq & 15];
        seq >>= 4;
    }
}

/* Adds one to a number in hex digits; almost always one byte changes. */
static void increment_digits(uint8_t d[ECHO_SEQ_DIGITS]) {
    for (int i = ECHO_SEQ_DIGITS - 1; i >= 0; i--) {
        if (d[i] == 'f') {
            d[i] = '0';
            continue;
        }
        d[i] = d[i] == '9' ? 'a' : (uint8_t)(d[i] + 1);
        return;
    }
}

/* The number in 16 hex digits, or -1 when they are not hex digits. */
static int parse_seq(const uint8_t in[ECHO_SEQ_DIGITS], uint64_t *seq) {
    uint64_t v = 0;
    for (int i = 0; i < ECHO_SEQ_DIGITS; i++) {
        uint8_t ch = in[i];
        unsigned d = ch >= '0' && ch <= '9' ? (unsigned)(ch - '0') : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10) : 16;
        if (d == 16) return -1;
        v = v << 4 | d;
    }
    *seq = v;
    return 0;
}

void echo_conn_reset(echo_conn *ec) {
    *ec = (echo_conn){0};
    format_seq(ec->next_out, 0);
    format_seq(ec->expect, 0);
}

void echo_msg_send(worker *w, wsconn *c, echo_conn *ec, echo_msg *m) {
    if (m->gateway) {
        echo_gw_send(w, c, ec, m);
        return;
    }
    if (m->socketio) {
        echo_sio_send(w, c, ec, m);
        return;
    }
    const uint8_t *key;
    uint8_t *p = ws_reserve_frame(w, c, m->opcode, m->size, &key);
    if (m->numbered) {
        memcpy(m->body, ec->next_out, ECHO_SEQ_DIGITS);
        increment_digits(ec->next_out);
    }
    nws_mask_copy(p, m->body, m->size, key, 0);
    ws_commit_frame(w, c, m->size);
    ec->sent++;
}

/* The bytes of this chunk that fall on the number: kept until the number is whole. */
static void take_seq_digits(echo_conn *ec, uint64_t offset, const uint8_t *data, size_t len) {
    if (offset >= ECHO_SEQ_DIGITS) return;
    size_t take = ECHO_SEQ_DIGITS - (size_t)offset;
    if (take > len) take = len;
    memcpy(ec->seq_digits + offset, data, take);
}

/* With --verify: the bytes after the number must be the body's. */
static int body_matches(const echo_msg *m, uint64_t offset, const uint8_t *data, size_t len) {
    uint64_t skip = m->numbered ? ECHO_SEQ_DIGITS : 0;
    if (offset + len > m->size) return 0;   /* too long: ERR_LENGTH says so at the end */
    if (offset + len <= skip) return 1;
    size_t from = offset < skip ? (size_t)(skip - offset) : 0;
    return memcmp(data + from, m->body + offset + from, len - from) == 0;
}

/* The answer is whole: its length, then its number. */
static void finish_answer(worker *w, wsconn *c, echo_conn *ec, const echo_msg *m) {
    if (c->msg_len != m->size) {
        w->errors[ERR_LENGTH]++;   /* one fault, one error: its bytes are not judged too */
        ec->mismatch = 0;
        ec->next_seq++;
        increment_digits(ec->expect);
    } else if (m->numbered && memcmp(ec->seq_digits, ec->expect, ECHO_SEQ_DIGITS) == 0) {
        ec->next_seq++;
        increment_digits(ec->expect);
    } else if (m->numbered) {
        uint64_t got;
        ec->mismatch = 1;
        if (parse_seq(ec->seq_digits, &got) != 0) {
            ec->next_seq++;
        } else {
            /* A skipped number is a message the server lost: counted here as content and at
             * the end as missing. Following the server's number keeps one loss one error. */
            ec->next_seq = got + 1;
        }
        format_seq(ec->expect, ec->next_seq);
    }
    if (ec->mismatch) w->errors[ERR_CONTENT]++;
    ec->mismatch = 0;
    c->msg_len = 0;
    ec->received++;
}

int echo_msg_on_chunk(worker *w, wsconn *c, echo_conn *ec, const echo_msg *m, const nws_decoded *d) {
    if (m->gateway) return echo_gw_on_chunk(w, c, ec, m, d);
    if (m->socketio) return echo_sio_on_chunk(w, c, ec, m, d);
    if (d->first && d->opcode != m->opcode) ec->mismatch = 1;
    if (m->numbered) take_seq_digits(ec, c->msg_len, d->data, d->len);
    if (m->verify && !ec->mismatch && !body_matches(m, c->msg_len, d->data, d->len)) ec->mismatch = 1;
    c->msg_len += d->len;
    if (!d->last) return 0;
    finish_answer(w, c, ec, m);
    return 1;
}
