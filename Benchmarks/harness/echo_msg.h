/*
 * echo_msg.h — the messages of the echo and latency scenarios, and the check of what comes
 * back.
 *
 * Every message is --size bytes of printable ASCII (valid UTF-8, so text frames are fine),
 * and when it has room (16 bytes or more) it starts with the connection's message number in
 * 16 hex digits. An echo server must answer each message with the same bytes, in order, on
 * the same connection; so each answer is checked for its length and opcode, its number (a
 * skipped number is a dropped message, found the moment the next one arrives), and with
 * --verify every other byte too. The number costs 16 bytes of formatting per message and
 * turns "the counts are off at the end" into "message 9 of connection 3 never came back".
 *
 * With --protocol gateway the same body travels as the text of a NaviosWS gateway event and
 * the number as its id (echo_gateway.c); the answer must be the event's ack envelope. With
 * --protocol socketio, as a Socket.IO event asking for an ack (echo_socketio.c).
 *
 * Per connection state lives in echo_conn; a worker's template in echo_msg. Worker thread
 * only; echo_msg_init allocates the template once.
 */
#ifndef BENCH_ECHO_MSG_H
#define BENCH_ECHO_MSG_H

#include "bench.h"

#define ECHO_SEQ_DIGITS 16

typedef struct echo_msg {
    uint8_t *body;       /* the bytes every message carries; its first 16 are overwritten
                            with each message's number just before it is masked */
    size_t size;
    uint8_t opcode;      /* NWS_OP_TEXT or NWS_OP_BINARY */
    uint8_t numbered;    /* every answer carries its number: raw with size >= ECHO_SEQ_DIGITS,
                            gateway always */
    uint8_t verify;      /* compare every byte */
    uint8_t gateway;     /* --protocol gateway (echo_gateway.c) */
    uint8_t socketio;    /* --protocol socketio (echo_socketio.c): request is the EVENT after
                            its number, answer the ACK after its number, head_len where BODY
                            starts in it */
    /* gateway: the request up to its id, {"event":E,"data":{"text":"BODY"},"id": with room
     * after it for the digits and the closing brace; the answer up to its number,
     * {"event":E,"data":{"text":"BODY"},"ack":; BODY starts at head_len in both. */
    uint8_t *request, *answer;
    size_t request_len, answer_len, head_len;
} echo_msg;

/* The numbers are kept as their 16 digits and counted up in place: formatting and parsing
 * a number per message cost more than the rest of the client's own work per echo. Raw
 * messages carry hex digits; gateway ids are decimal (right-aligned, zero-padded here). */
typedef struct echo_conn {
    uint64_t sent, received;   /* messages on this connection */
    uint64_t next_seq;         /* the number the next answer must carry */
    uint8_t next_out[ECHO_SEQ_DIGITS];     /* digits of the next message to send */
    uint8_t expect[ECHO_SEQ_DIGITS];       /* digits of next_seq */
    uint8_t seq_digits[ECHO_SEQ_DIGITS + 1];   /* of the answer being received (gateway: the
                                                  ack's digits and its closing brace) */
    uint8_t mismatch;          /* the answer being received already differs */
    uint8_t sio_at;            /* socketio: where the answer's reading is (echo_socketio.c) */
    uint64_t sio_ack;          /* socketio: the answer's number so far */
    uint64_t sio_rest_at;      /* socketio: where its fixed rest starts */
} echo_conn;

/* The echo and latency scenarios' check of the protocol options (raw unless told). */
const char *echo_msg_check(bench_opts *o);
/* The worker's template from the options (size, binary, verify, protocol, event). */
int echo_msg_init(echo_msg *m, const bench_opts *o);
void echo_msg_free(echo_msg *m);
/* A connection's state before its first message. */
void echo_conn_reset(echo_conn *ec);
/* The protocol (and the gateway's event) as report parameters. */
struct report;
void report_protocol(struct report *r, const bench_opts *o);
/* Queues the next message of the connection (masked, numbered). */
void echo_msg_send(worker *w, wsconn *c, echo_conn *ec, echo_msg *m);
/* Checks one chunk of an answer; returns 1 when it completed an answer (counted in
 * ec->received, its errors in w->errors), else 0. */
int echo_msg_on_chunk(worker *w, wsconn *c, echo_conn *ec, const echo_msg *m, const nws_decoded *d);

/* echo_gateway.c: the same for --protocol gateway (echo_msg_* call them). */
int echo_gw_init(echo_msg *m, const char *event);
void echo_gw_send(worker *w, wsconn *c, echo_conn *ec, echo_msg *m);
int echo_gw_on_chunk(worker *w, wsconn *c, echo_conn *ec, const echo_msg *m, const nws_decoded *d);

/* echo_socketio.c: the same for --protocol socketio. */
int echo_sio_init(echo_msg *m, const char *event);
void echo_sio_send(worker *w, wsconn *c, echo_conn *ec, echo_msg *m);
int echo_sio_on_chunk(worker *w, wsconn *c, echo_conn *ec, const echo_msg *m, const nws_decoded *d);

#endif
