/*
 * sio_session.c — --protocol socketio: the Engine.IO v4 / Socket.IO v5 session on each
 * WebSocket connection, below the scenarios.
 *
 *   server  0{"sid":...,"pingInterval":...}     Engine.IO open
 *   client  40                                   CONNECT to the main namespace
 *   server  40{"sid":...}                        connected: the scenario's on_open runs now
 *   server  2  /  client 3                       Engine.IO ping and pong, at any time
 *
 * A scenario sees its connection only once the CONNECT is answered, and never a ping: what it
 * gets are Socket.IO packets in Engine.IO messages ("4" then the packet). A connection whose
 * server answers anything else during the handshake fails it (ERR_HANDSHAKE). The handshake
 * messages are short and come whole; a ping is the one-byte message "2". The conformance kit's
 * server contract greets each client with the event `auth` (its CONNECT payload) right after the
 * CONNECT reply: the session reads that off too, so the scenarios see only their own traffic.
 */
#include "bench.h"

#include <string.h>

int sio_on_message(worker *w, wsconn *c, const nws_decoded *d) {
    int whole = d->first && d->last;
    if (whole && d->len == 1 && d->data[0] == '2') {   /* ping, whatever the stage */
        ws_send_frame(w, c, NWS_OP_TEXT, (const uint8_t *)"3", 1);
        return 1;
    }
    switch (c->sio) {
    case SIO_WAIT_OPEN:
        if (!whole || d->len < 2 || memcmp(d->data, "0{", 2) != 0) break;
        ws_send_frame(w, c, NWS_OP_TEXT, (const uint8_t *)"40", 2);
        c->sio = SIO_WAIT_CONNECTED;
        return 1;
    case SIO_WAIT_CONNECTED:
        if (!whole || d->len < 3 || memcmp(d->data, "40{", 3) != 0) break;
        c->sio = SIO_CONNECTED;
        ws_opened(w, c);
        return 1;
    default: {
        static const char greeting[] = "42[\"auth\",";
        return whole && d->len >= sizeof greeting - 1 && memcmp(d->data, greeting, sizeof greeting - 1) == 0;
    }
    }
    ws_kill(w, c, ERR_HANDSHAKE);
    return 1;
}
