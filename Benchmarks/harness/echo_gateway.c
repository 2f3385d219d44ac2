/*
 * echo_gateway.c — the echo and latency messages as NaviosWS gateway events (--protocol
 * gateway), for servers built on the gateway layer (Sources/navios-ws-gateway-echo):
 *
 *   out  {"event":E,"data":{"text":"BODY"},"id":N}
 *   in   {"event":E,"data":{"text":"BODY"},"ack":N}
 *
 * BODY is echo_msg's body (letters: nothing to escape) and N the connection's message number,
 * so an answer is known byte for byte before it arrives. It is checked chunk by chunk like a
 * raw echo: the envelope always, BODY only with --verify, the ack number once the answer is
 * whole. A wrong ack is a content error and, as in echo_msg.c, the server's number is
 * followed from there so that one lost message stays one error (and one "missing").
 *
 * The id is decimal (the only number JSON has), kept as zero-padded digits and counted up in
 * place; the zero padding is skipped when the digits are copied out.
 */
#include "echo_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nws_mask.h"

#define REQUEST_TAIL "\"},\"id\":"
#define ANSWER_TAIL "\"},\"ack\":"
#define ACK_TAIL_MAX (ECHO_SEQ_DIGITS + 1)   /* the digits and '}' after ANSWER_TAIL */

/* head + BODY + tail, with `spare` bytes of room after it. */
static uint8_t *envelope(const echo_msg *m, const char *head, size_t head_len, const char *tail, size_t spare,
                         size_t *len) {
    size_t tail_len = strlen(tail);
    uint8_t *p = malloc(head_len + m->size + tail_len + spare);
    if (p == NULL) return NULL;
    memcpy(p, head, head_len);
    memcpy(p + head_len, m->body, m->size);
    memcpy(p + head_len + m->size, tail, tail_len);
    *len = head_len + m->size + tail_len;
    return p;
}

int echo_gw_init(echo_msg *m, const char *event) {
    char head[192];   /* --event is capped at 127 bytes by the command line */
    size_t n = (size_t)snprintf(head, sizeof head, "{\"event\":\"%s\",\"data\":{\"text\":\"", event);
    if (n >= sizeof head) return -1;
    m->gateway = 1;
    m->numbered = 1;
    m->opcode = NWS_OP_TEXT;
    m->head_len = n;
    m->request = envelope(m, head, n, REQUEST_TAIL, ECHO_SEQ_DIGITS + 1, &m->request_len);
    m->answer = envelope(m, head, n, ANSWER_TAIL, 0, &m->answer_len);
    return m->request && m->answer ? 0 : -1;
}

static void increment_decimal(uint8_t d[ECHO_SEQ_DIGITS]) {
    for (int i = ECHO_SEQ_DIGITS - 1; i >= 0; i--) {
        if (d[i] != '9') {
            d[i]++;
            return;
        }
        d[i] = '0';
    }
}

void echo_gw_send(worker *w, wsconn *c, echo_conn *ec, echo_msg *m) {
    int first = 0;
    while (first < ECHO_SEQ_DIGITS - 1 && ec->next_out[first] == '0') first++;
    size_t digits = (size_t)(ECHO_SEQ_DIGITS - first);
    memcpy(m->request + m->request_len, ec->next_out + first, digits);
    m->request[m->request_len + digits] = '}';
    size_t len = m->request_len + digits + 1;
    const uint8_t *key;
    uint8_t *p = ws_reserve_frame(w, c, NWS_OP_TEXT, len, &key);
    nws_mask_copy(p, m->request, len, key, 0);
    ws_commit_frame(w, c, len);
    increment_decimal(ec->next_out);
    ec->sent++;
}

/* The chunk (at answer offset `at`) agrees with want[0..n), which sits at offset `from`, on
 * the bytes where the two overlap. */
static int agrees(uint64_t at, const nws_decoded *d, uint64_t from, const uint8_t *want, size_t n) {
    uint64_t lo = at > from ? at : from;
    uint64_t hi = at + d->len < from + n ? at + d->len : from + n;
    return lo >= hi || memcmp(d->data + (lo - at), want + (lo - from), (size_t)(hi - lo)) == 0;
}

/* The ack's digits and '}' once the answer is whole: the number, or -1 when malformed. */
static int parse_ack(const uint8_t *t, size_t len, uint64_t *n) {
    if (len < 2 || t[len - 1] != '}') return -1;
    uint64_t v = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (t[i] < '0' || t[i] > '9') return -1;
        v = v * 10 + (uint64_t)(t[i] - '0');
    }
    *n = v;
    return 0;
}

static void finish_answer(worker *w, wsconn *c, echo_conn *ec, const echo_msg *m) {
    uint64_t got;
    if (c->msg_len < m->answer_len + 2 || c->msg_len > m->answer_len + ACK_TAIL_MAX) {
        w->errors[ERR_LENGTH]++;   /* one fault, one error: its bytes are not judged too */
        ec->mismatch = 0;
        ec->next_seq++;
    } else if (parse_ack(ec->seq_digits, (size_t)(c->msg_len - m->answer_len), &got) != 0) {
        ec->mismatch = 1;
        ec->next_seq++;
    } else {
        if (got != ec->next_seq) ec->mismatch = 1;
        ec->next_seq = got + 1;
    }
    if (ec->mismatch) w->errors[ERR_CONTENT]++;
    ec->mismatch = 0;
    c->msg_len = 0;
    ec->received++;
}

int echo_gw_on_chunk(worker *w, wsconn *c, echo_conn *ec, const echo_msg *m, const nws_decoded *d) {
    uint64_t at = c->msg_len;
    size_t body_end = m->head_len + m->size;
    if (d->first && d->opcode != NWS_OP_TEXT) ec->mismatch = 1;
    if (!ec->mismatch && (!agrees(at, d, 0, m->answer, m->head_len) ||
                          (m->verify && !agrees(at, d, m->head_len, m->body, m->size)) ||
                          !agrees(at, d, body_end, m->answer + body_end, m->answer_len - body_end))) {
        ec->mismatch = 1;
    }
    /* The bytes past the fixed part: the ack's digits and brace, kept while they fit. */
    uint64_t end = at + d->len, from = at > m->answer_len ? at : m->answer_len;
    uint64_t to = end < m->answer_len + ACK_TAIL_MAX ? end : m->answer_len + ACK_TAIL_MAX;
    if (from < to) memcpy(ec->seq_digits + (from - m->answer_len), d->data + (from - at), (size_t)(to - from));
    c->msg_len = end;
    if (!d->last) return 0;
    finish_answer(w, c, ec, m);
    return 1;
}
