/*
 * message.c — reassembly buffers for messages that do not arrive in one read: fragmented
 * messages, and frames split across reads (a 16 KiB message split by the read buffer is the
 * everyday case).
 *
 * A connection holds a buffer only while such a message is open, so an idle connection
 * holds none (the buffer is in the connection's cold part, which goes with it when empty).
 * Freed buffers of moderate size are kept on a short per-loop list and handed to the next
 * split message: without it a steady stream of split messages would malloc, free and
 * page-fault the same memory each time (glibc returns freed chunks to the kernel).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define SPARE_MAX_CAP (1u << 20)   /* larger buffers go straight back to malloc */
#define SPARE_MAX_COUNT 32u
#define FIRST_CAP 4096u

/* A spare of at least `need` bytes, or NULL. Spares are few; a linear scan is fine. */
static uint8_t *take_spare(nws_loop *loop, uint64_t need, uint64_t *cap) {
    for (nws__spare **p = &loop->spares; *p != NULL; p = &(*p)->next) {
        if ((*p)->cap >= need) {
            nws__spare *s = *p;
            *p = s->next;
            loop->spare_count--;
            *cap = s->cap;
            return (uint8_t *)s;
        }
    }
    return NULL;
}

int nws__message_append(nws_loop *loop, nws_conn *c, const uint8_t *data, size_t len, uint64_t expected) {
    nws__conn_cold *k = nws__conn_cold_get(loop, c);
    if (k == NULL) return NWS_ENOMEM;
    uint64_t need = (uint64_t)k->message_len + len;
    if (need > UINT32_MAX) return NWS_ETOOBIG;   /* beyond any max_message: the decoder refused it first */
    if (need > k->message_cap) {
        uint64_t cap = k->message_cap ? (uint64_t)k->message_cap * 2 : (expected > FIRST_CAP ? expected : FIRST_CAP);
        while (cap < need) cap *= 2;
        if (cap > UINT32_MAX) cap = need;
        uint8_t *p = NULL;
        uint64_t spare_cap = 0;
        if (k->message == NULL && (p = take_spare(loop, cap, &spare_cap)) != NULL) {
            cap = spare_cap;
        } else {
            p = realloc(k->message, cap);
            if (p == NULL) return NWS_ENOMEM;
        }
        k->message = p;
        k->message_cap = (uint32_t)cap;
    }
    memcpy(k->message + k->message_len, data, len);
    k->message_len = (uint32_t)need;
    return 0;
}

void nws__message_release(nws_loop *loop, nws_conn *c) {
    nws__conn_cold *k = c->cold;
    if (k == NULL) return;
    if (k->message != NULL) {
        if (k->message_cap <= SPARE_MAX_CAP && loop->spare_count < SPARE_MAX_COUNT) {
            nws__spare *s = (nws__spare *)k->message;   /* FIRST_CAP bytes hold the link */
            s->cap = k->message_cap;
            s->next = loop->spares;
            loop->spares = s;
            loop->spare_count++;
        } else {
            free(k->message);
        }
    }
    k->message = NULL;
    k->message_len = k->message_cap = 0;
    nws__conn_cold_trim(loop, c);
}

void nws__message_spares_free(nws_loop *loop) {
    while (loop->spares != NULL) {
        nws__spare *s = loop->spares;
        loop->spares = s->next;
        free(s);
    }
    loop->spare_count = 0;
}
