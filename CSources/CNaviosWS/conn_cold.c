/*
 * conn_cold.c — a connection's cold part (nws__conn_cold): what it needs only at times, made
 * at the first need and freed once empty.
 *
 * Other threads read a connection's rooms through its cold part, under rooms_lock (rooms.c), so
 * the part is published and taken away under that lock; the loop reads its own without it.
 */
#include "internal.h"

#include <stdlib.h>

nws__conn_cold *nws__conn_cold_get_locked(nws_conn *c) {
    if (c->cold == NULL) c->cold = calloc(1, sizeof *c->cold);
    return c->cold;
}

nws__conn_cold *nws__conn_cold_get(nws_loop *loop, nws_conn *c) {
    if (c->cold != NULL) return c->cold;
    nws__conn_cold *k = calloc(1, sizeof *k);
    if (k == NULL) return NULL;
    pthread_mutex_lock(&loop->server->rooms_lock);
    c->cold = k;
    pthread_mutex_unlock(&loop->server->rooms_lock);
    return k;
}

static int cold_is_empty(const nws__conn_cold *k) {
    return k->http == NULL && k->rooms == NULL && k->message == NULL && k->session == NULL &&
           k->deflate_state == NULL;
}

void nws__conn_cold_trim_locked(nws_conn *c) {
    if (c->cold != NULL && cold_is_empty(c->cold)) {
        free(c->cold);
        c->cold = NULL;
    }
}

void nws__conn_cold_free(nws_conn *c) {
    if (c->cold == NULL) return;
    free(c->cold->http);
    free(c->cold);
    c->cold = NULL;
}

void nws__conn_cold_trim(nws_loop *loop, nws_conn *c) {
    if (c->cold == NULL || !cold_is_empty(c->cold)) return;
    pthread_mutex_lock(&loop->server->rooms_lock);
    nws__conn_cold_trim_locked(c);
    pthread_mutex_unlock(&loop->server->rooms_lock);
}
