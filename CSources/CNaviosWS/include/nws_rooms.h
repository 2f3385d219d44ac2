/*
 * nws_rooms.h — rooms: named sets of connections, for fan-out without a list of ids.
 *
 * Each loop indexes the rooms of its own connections (name -> local members, and each
 * connection's list of rooms), so a room broadcast is one framed message handed to every
 * loop, and each loop walks only its own members. A connection leaves every room when it
 * closes. Joining twice or leaving a room one is not in does nothing.
 *
 * This index is the one record of membership: the server's on_room callback hears of a
 * room's first member and its last, and the readers below answer from it.
 *
 * Thread rule (as in nws_server.h): any thread; on the owning loop a join or leave acts at
 * once, elsewhere it is posted to that loop and acts shortly after (in order with the sends
 * the same thread posted to that loop). Room names are copied; nothing is kept of the
 * caller's. The readers take a lock the loops hold while they change rooms: they see each
 * change whole, and never call back into these functions from `each`.
 */
#ifndef NWS_ROOMS_H
#define NWS_ROOMS_H

#include <stddef.h>
#include <stdint.h>

#include "nws_server.h"

typedef struct nws_room_ref {
    const char *name;
    size_t len;
} nws_room_ref;

/* 0, or NWS_ESTALE, NWS_ENOMEM, NWS_EINVAL (an empty name), NWS_ELIMIT (the connection is in
 * config.max_rooms_per_conn rooms already). Posted from another thread, 0 means queued: what
 * the loop then makes of it is not reported. */
int nws_room_join(nws_server *s, nws_conn_id id, const char *room, size_t len);
int nws_room_leave(nws_server *s, nws_conn_id id, const char *room, size_t len);

/* Queues m once to every connection that is in at least one of rooms[0..count) — or to
 * every open connection of the server when count is 0 — except connections in any of
 * except[0..except_count) and the connection except_id (0 for none). Returns the number of
 * connections queued on this thread's loop plus the number of loops the work was posted to
 * (their counts are not known yet), or NWS_ENOMEM. */
int nws_room_broadcast(nws_server *s, nws_msg *m, const nws_room_ref *rooms, size_t count,
                       const nws_room_ref *except, size_t except_count, nws_conn_id except_id,
                       unsigned flags);

/* Members of a room on the calling loop thread's loop only (for tests and diagnostics);
 * -1 off the loops. */
long nws_room_local_size(nws_server *s, const char *room, size_t len);

typedef void (*nws_room_name_fn)(void *ctx, const char *room, size_t len, size_t members);
typedef void (*nws_room_member_fn)(void *ctx, nws_conn_id id);

/* Calls each(ctx, room, len, 1) for every room the connection is in; NWS_ESTALE when it is
 * gone. A connection leaves its rooms after its on_close, and joins none after it: one that is
 * closing answers 0 and no room. */
int nws_conn_rooms(nws_server *s, nws_conn_id id, nws_room_name_fn each, void *ctx);
/* Calls each(ctx, id) for every member of room, on every loop. */
void nws_room_members(nws_server *s, const char *room, size_t len, nws_room_member_fn each, void *ctx);
/* Calls each(ctx, room, len, members) for every room with a member on this server. */
void nws_room_list(nws_server *s, nws_room_name_fn each, void *ctx);

#endif
