/*
 * echo_socketio.c — the echo and latency messages as Socket.IO events with an ack (--protocol
 * socketio), over the session sio_session.c keeps:
 *
 *   out  42N["E",{"text":"BODY"}]      an EVENT asking for ack N (Engine.IO message "4")
 *   in   43N[{"text":"BODY"}]          its ACK, the handler's result as the one argument
 *
 * N is the connection's message number in decimal. An answer is read as it comes, in chunks
 * of any size: "43", the digits up to '[', then the fixed rest, compared where it overlaps the
 * chunk (BODY only with --verify). A wrong number is a content error, and the server's number
 * is followed from there, as echo_gateway.c does.
 */
#include "echo_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nws_mask.h"

enum { AT_ENGINE_IO, AT_KIND, AT_DIGITS, AT_REST };

int echo_sio_init(echo_msg *m, const char *event) {
    char head[192];   /* --event is capped at 127 bytes by the command line */
    int n = snprintf(head, sizeof head, "[\"%s\",{\"text\":\"", event);
    if (n < 0 || (size_t)n >= sizeof head) return -1;
    static const char tail[] = "\"}]";
    static const char answer_head[] = "[{\"text\":\"";
    m->socketio = 1;
    m->numbered = 1;
    m->opcode = NWS_OP_TEXT;
    m->request_len = (size_t)n + m->size + sizeof tail - 1;
    m->answer_len = sizeof answer_head - 1 + m->size + sizeof tail - 1;
    m->head_len = sizeof answer_head - 1;   /* where BODY starts in the answer's rest */
    m->request = malloc(m->request_len);
    m->answer = malloc(m->answer_len);
    if (m->request == NULL || m->answer == NULL) return -1;
    memcpy(m->request, head, (size_t)n);
    memcpy(m->request + n, m->body, m->size);
    memcpy(m->request + n + m->size, tail, sizeof tail - 1);
    memcpy(m->answer, answer_head, m->head_len);
    memcpy(m->answer + m->head_len, m->body, m->size);
    memcpy(m->answer + m->head_len + m->size, tail, sizeof tail - 1);
    return 0;
}

void echo_sio_send(worker *w, wsconn *c, echo_conn *ec, echo_msg *m) {
    char number[24];
    int digits = snprintf(number, sizeof number, "42%llu", (unsigned long long)ec->sent);
    size_t len = (size_t)digits + m->request_len;
    const uint8_t *key;
    uint8_t *p = ws_reserve_frame(w, c, NWS_OP_TEXT, len, &key);
    nws_mask_copy(p, (const uint8_t *)number, (size_t)digits, key, 0);
    nws_mask_copy(p + digits, m->request, m->request_len, key, (size_t)digits);
    ws_commit_frame(w, c, len);
    ec->sent++;
}

/* The answer is whole: its length, then its number. */
static void finish_answer(worker *w, wsconn *c, echo_conn *ec, const echo_msg *m) {
    if (ec->sio_at != AT_REST || c->msg_len != ec->sio_rest_at + m->answer_len) {
        w->errors[ERR_LENGTH]++;
        ec->mismatch = 0;
        ec->next_seq++;
    } else {
        if (ec->sio_ack != ec->next_seq) ec->mismatch = 1;
        ec->next_seq = ec->sio_ack + 1;
    }
    if (ec->mismatch) w->errors[ERR_CONTENT]++;
    ec->mismatch = 0;
    ec->sio_at = AT_ENGINE_IO;
    ec->sio_ack = 0;
    c->msg_len = 0;
    ec->received++;
}

int echo_sio_on_chunk(worker *w, wsconn *c, echo_conn *ec, const echo_msg *m, const nws_decoded *d) {
    if (d->first && d->opcode != NWS_OP_TEXT) ec->mismatch = 1;
    size_t i = 0;
    /* The head, byte by byte: "4", "3", then digits up to the rest's '['. */
    while (i < d->len && ec->sio_at != AT_REST && !ec->mismatch) {
        uint8_t ch = d->data[i];
        if (ec->sio_at == AT_ENGINE_IO) {
            ec->mismatch = ch != '4';
            ec->sio_at = AT_KIND;
        } else if (ec->sio_at == AT_KIND) {
            ec->mismatch = ch != '3';
            ec->sio_at = AT_DIGITS;
        } else if (ch >= '0' && ch <= '9' && ec->sio_ack < UINT64_MAX / 10) {
            ec->sio_ack = ec->sio_ack * 10 + (uint64_t)(ch - '0');
        } else if (ch == '[') {
            ec->sio_at = AT_REST;
            ec->sio_rest_at = c->msg_len + i;
            break;
        } else {
            ec->mismatch = 1;
        }
        i++;
    }
    /* The rest, where it overlaps this chunk: the envelope always, BODY with --verify. */
    if (ec->sio_at == AT_REST && !ec->mismatch) {
        uint64_t at = c->msg_len + i, end = c->msg_len + d->len;
        for (uint64_t pos = at; pos < end && !ec->mismatch; pos++) {
            uint64_t k = pos - ec->sio_rest_at;
            if (k >= m->answer_len) break;   /* too long: the length check says so */
            int in_body = k >= m->head_len && k < m->head_len + m->size;
            if ((!in_body || m->verify) && d->data[pos - c->msg_len] != m->answer[k]) ec->mismatch = 1;
        }
    }
    c->msg_len += d->len;
    if (!d->last) return 0;
    finish_answer(w, c, ec, m);
    return 1;
}
