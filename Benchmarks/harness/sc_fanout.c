/*
 * sc_fanout.c — the fan-out scenario: M subscribers, K publishers, a fixed publish rate;
 * every publish must reach every subscriber exactly once.
 *
 * Protocols (--protocol):
 *   gateway    NaviosWS's gateway JSON events (Sources/navios-ws-gateway-echo): each
 *              subscriber sends {"event":"join","data":ROOM,"id":1} and is ready at the ack
 *              {"event":"join","ack":1}; a publisher sends {"event":"publish","data":{"room":
 *              ROOM,"text":T}} and every member gets {"event":"message","data":{"text":T}}.
 *              Publishers do not join, so they get nothing back.
 *   socketio   the Socket.IO conformance kit's server contract (Sources/navios-ws-socketio-server,
 *              python-socketio's ref_server.py), over sio_session.c's session: a subscriber
 *              sends 421["join",ROOM] and is ready at its ack 431[...]; a publisher sends
 *              42["room-emit",ROOM,T] and every member gets 42["room-message",ROOM,T].
 *              Publishers do not join.
 *   broadcast  a plain broadcast server (Benchmarks/peers/node-ws/broadcast.js): every text
 *              message a client sends goes to every client. Subscribers send nothing;
 *              publishers ignore what comes back to them.
 *
 * T is "P<publisher>S<seq>T<scheduled ns>:" padded with 'x' to --size. Publish n (of all
 * publishers together) is due at start + n / rate, publisher p taking n = k*K + p, so the
 * schedule is open-loop as in the latency scenario and the delivery latency is taken from
 * the scheduled time (a server that stalls shows it in the latencies, not as fewer
 * samples). Every publisher publishes the same count, P = rate x (warmup + duration) / K,
 * all due before measure_end, so each subscriber expects exactly K x P deliveries; a bitmap
 * per subscriber finds duplicates and, after the drain, the missing ones. Deliveries of
 * publishes due in the measured phase give deliveries/s and the latency percentiles.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

#define MAX_BITMAP_BYTES (1ull << 30)
#define ASSEMBLY_MAX (1u << 20)   /* a delivery is a few dozen bytes: far more is an error */

enum role { ROLE_SUBSCRIBER, ROLE_PUBLISHER };

typedef struct fan_conn {
    uint8_t role;
    uint8_t joined;
    uint8_t ended;
    int pub_index;            /* publishers: global index 0..K-1 */
    uint64_t next_k;          /* publishers: the next of its P publishes */
    uint64_t received;        /* subscribers: distinct deliveries */
    uint8_t *seen;            /* subscribers: K x P bits */
    uint8_t *asm_buf;         /* a delivery split over reads or frames, reassembled */
    size_t asm_len, asm_cap;
} fan_conn;

typedef struct fan_worker {
    fan_conn *conns;          /* by ordinal: subscribers first, then publishers */
    int nsubs, npubs;
    int subs_pending;         /* subscribers neither joined nor dead */
    uint64_t per_pub;         /* P */
    uint64_t remaining;       /* deliveries still expected by live subscribers */
    int pubs_done;            /* publishers that published all P, or died */
    uint64_t measured, duplicates, publisher_receptions;
    uint64_t published;
    int subs_opened, pubs_opened;
    char *text;               /* scratch for one publish */
    size_t text_cap;
    wsconn **pub_conns;       /* the publishers that opened: what the tick walks */
    uint32_t *pub_gens;       /* and their generations: a slot freed in setup may be reused */
    int npub_conns;
} fan_worker;

static uint64_t publishes_per_publisher(const bench_opts *o) {
    return (uint64_t)(o->rate * (o->warmup + o->duration) / o->publishers);
}

static const char *fan_check(bench_opts *o) {
    if (o->size == CLI_UNSET_SIZE) o->size = 0;
    if (o->rate < 0) o->rate = 100;
    if (o->protocol == PROTO_UNSET) o->protocol = PROTO_GATEWAY;
    if (o->protocol == PROTO_RAW) return "fanout takes --protocol gateway, socketio or broadcast";
    if (o->size > 65536) return "--size over 65536 makes no sense for fan-out";
    uint64_t p = publishes_per_publisher(o);
    if (p == 0) return "rate x (warmup + duration) gives no publish per publisher";
    double bytes = (double)o->subscribers * (double)o->publishers * (double)p / 8.0;
    if (bytes > (double)MAX_BITMAP_BYTES) return "subscribers x publishes over the 1 GiB of duplicate bitmaps";
    return NULL;
}

/* The ordinal's connection state; subscribers are ordinals 0..nsubs-1. */
static int fan_setup(worker *w) {
    const bench_opts *o = w->opt;
    fan_worker *f = calloc(1, sizeof *f);
    if (f == NULL) return -1;
    w->sc_data = f;
    f->nsubs = worker_share(w, o->subscribers);
    f->npubs = worker_share(w, o->publishers);
    f->per_pub = publishes_per_publisher(o);
    w->target = f->nsubs + f->npubs;
    if (worker_reserve_slots(w, (uint32_t)w->target) != 0) return -1;
    f->conns = calloc((size_t)w->target, sizeof *f->conns);
    if (f->conns == NULL) return -1;
    size_t bitmap = (size_t)((o->publishers * f->per_pub + 7) / 8);
    for (int i = 0; i < w->target; i++) {
        fan_conn *fc = &f->conns[i];
        fc->role = i < f->nsubs ? ROLE_SUBSCRIBER : ROLE_PUBLISHER;
        if (fc->role == ROLE_PUBLISHER) {
            fc->pub_index = (i - f->nsubs) * o->threads + w->index;   /* worker_share's order */
        } else if ((fc->seen = calloc(1, bitmap)) == NULL) {
            return -1;
        }
    }
    f->subs_pending = f->nsubs;
    f->remaining = (uint64_t)f->nsubs * (uint64_t)o->publishers * f->per_pub;
    f->text_cap = o->size + strlen(o->room) + 128;
    f->text = malloc(f->text_cap);
    f->pub_conns = calloc((size_t)f->npubs + 1, sizeof *f->pub_conns);
    f->pub_gens = calloc((size_t)f->npubs + 1, sizeof *f->pub_gens);
    return f->text && f->pub_conns && f->pub_gens ? 0 : -1;
}

static void subscriber_joined(fan_worker *f, fan_conn *fc) {
    if (fc->joined) return;
    fc->joined = 1;
    f->subs_pending--;
}

static void fan_on_open(worker *w, wsconn *c) {
    fan_worker *f = w->sc_data;
    if (c->ordinal < 0) return;
    fan_conn *fc = &f->conns[c->ordinal];
    c->user = fc;
    if (fc->role == ROLE_PUBLISHER) {
        f->pubs_opened++;
        f->pub_gens[f->npub_conns] = c->gen;
        f->pub_conns[f->npub_conns++] = c;
        return;
    }
    f->subs_opened++;
    if (w->opt->protocol == PROTO_BROADCAST) {
        subscriber_joined(f, fc);   /* a broadcast server knows every client once upgraded */
        return;
    }
    char join[256];
    int n = w->opt->protocol == PROTO_SOCKETIO
        ? snprintf(join, sizeof join, "421[\"join\",\"%s\"]", w->opt->room)
        : snprintf(join, sizeof join, "{\"event\":\"join\",\"data\":\"%s\",\"id\":1}", w->opt->room);
    ws_send_frame(w, c, NWS_OP_TEXT, (const uint8_t *)join, (size_t)n);
}

static int fan_ready(worker *w) {
    fan_worker *f = w->sc_data;
    return f->subs_pending == 0;
}

/* ---- deliveries ------------------------------------------------------------------------- */

/* Parses "P<p>S<seq>T<ns>" at s; 0 or -1. */
static int parse_marker(const char *s, const char *end, uint64_t v[3]) {
    static const char tags[3] = {'P', 'S', 'T'};
    for (int i = 0; i < 3; i++) {
        if (s >= end || *s != tags[i]) return -1;
        s++;
        if (s >= end || *s < '0' || *s > '9') return -1;
        uint64_t x = 0;
        while (s < end && *s >= '0' && *s <= '9') x = x * 10 + (uint64_t)(*s++ - '0');
        v[i] = x;
    }
    return 0;
}

/* Where the publish's text starts in a delivery, or NULL when it is not one. */
static const char *delivery_text(const bench_opts *o, const uint8_t *m, size_t len) {
    static const char prefix[] = "{\"event\":\"message\",\"data\":{\"text\":\"";
    if (o->protocol == PROTO_BROADCAST) return len > 0 && m[0] == 'P' ? (const char *)m : NULL;
    if (o->protocol == PROTO_SOCKETIO) {
        char head[192];
        int n = snprintf(head, sizeof head, "42[\"room-message\",\"%s\",\"", o->room);
        return len > (size_t)n && memcmp(m, head, (size_t)n) == 0 ? (const char *)m + n : NULL;
    }
    if (len < sizeof prefix - 1 || memcmp(m, prefix, sizeof prefix - 1) != 0) return NULL;
    return (const char *)m + sizeof prefix - 1;
}

static int is_join_ack(const bench_opts *o, const uint8_t *m, size_t len) {
    if (o->protocol == PROTO_SOCKETIO) return len >= 5 && memcmp(m, "431[", 4) == 0 && m[len - 1] == ']';
    static const char ack[] = "{\"event\":\"join\",\"ack\":1}";
    return len == sizeof ack - 1 && memcmp(m, ack, len) == 0;
}

static void on_delivery(worker *w, fan_worker *f, fan_conn *fc, const uint8_t *m, size_t len) {
    const bench_opts *o = w->opt;
    const char *text = delivery_text(o, m, len);
    uint64_t v[3];
    if (text == NULL || parse_marker(text, (const char *)m + len, v) != 0 || v[0] >= (uint64_t)o->publishers ||
        v[1] >= f->per_pub) {
        w->errors[ERR_UNEXPECTED]++;
        return;
    }
    uint64_t bit = v[0] * f->per_pub + v[1];
    if (fc->seen[bit >> 3] & (1u << (bit & 7))) {
        w->errors[ERR_DUPLICATE]++;
        f->duplicates++;
        return;
    }
    fc->seen[bit >> 3] |= (uint8_t)(1u << (bit & 7));
    fc->received++;
    f->remaining--;
    uint64_t due = v[2];
    if (due < w->clock->warm_end || due >= w->clock->measure_end) return;
    uint64_t now = now_ns();
    hist_record(w->hist, now > due ? now - due : 0);
    f->measured++;
}

static void on_message(worker *w, fan_worker *f, fan_conn *fc, const uint8_t *m, size_t len) {
    if (fc->role == ROLE_PUBLISHER) {
        /* A broadcast server sends publishes back to their publishers too; a gateway sends a
         * non-member nothing. */
        if (w->opt->protocol == PROTO_BROADCAST) f->publisher_receptions++;
        else w->errors[ERR_UNEXPECTED]++;
        return;
    }
    if (!fc->joined) {
        if (is_join_ack(w->opt, m, len)) subscriber_joined(f, fc);
        else w->errors[ERR_UNEXPECTED]++;
        return;
    }
    on_delivery(w, f, fc, m, len);
}

static void fan_on_data(worker *w, wsconn *c, const nws_decoded *d) {
    fan_worker *f = w->sc_data;
    fan_conn *fc = c->user;
    if (fc == NULL) return;
    if (d->first && d->last) {   /* the usual case: the whole message in one chunk */
        on_message(w, f, fc, d->data, d->len);
        return;
    }
    if (d->first) fc->asm_len = 0;
    if (fc->asm_len + d->len > ASSEMBLY_MAX) {
        ws_kill(w, c, ERR_UNEXPECTED);
        return;
    }
    if (fc->asm_len + d->len > fc->asm_cap) {
        size_t cap = fc->asm_cap ? fc->asm_cap : 256;
        while (cap < fc->asm_len + d->len) cap *= 2;
        uint8_t *p = realloc(fc->asm_buf, cap);
        if (p == NULL) abort();
        fc->asm_buf = p;
        fc->asm_cap = cap;
    }
    memcpy(fc->asm_buf + fc->asm_len, d->data, d->len);
    fc->asm_len += d->len;
    if (d->last) on_message(w, f, fc, fc->asm_buf, fc->asm_len);
}

/* A subscriber that ends will never get the rest: they stay missing. Found by ordinal, so
 * that a connection that failed before its upgrade is accounted for too. */
static void fan_on_end(worker *w, wsconn *c, int clean) {
    (void)clean;
    fan_worker *f = w->sc_data;
    if (c->ordinal < 0) return;
    fan_conn *fc = &f->conns[c->ordinal];
    if (fc->ended) return;
    fc->ended = 1;
    if (fc->role == ROLE_PUBLISHER) {
        if (fc->next_k < f->per_pub) f->pubs_done++;
        return;
    }
    if (!fc->joined) f->subs_pending--;
    f->remaining -= (uint64_t)w->opt->publishers * f->per_pub - fc->received;
}

/* ---- publishing ------------------------------------------------------------------------------ */

static uint64_t publish_due(const worker *w, const fan_conn *fc, uint64_t k) {
    double n = (double)k * w->opt->publishers + fc->pub_index;
    return w->clock->start + (uint64_t)(n * 1e9 / w->opt->rate);
}

static void publish(worker *w, fan_worker *f, wsconn *c, fan_conn *fc, uint64_t due) {
    const bench_opts *o = w->opt;
    char marker[80];
    int m = snprintf(marker, sizeof marker, "P%dS%lluT%llu:", fc->pub_index, (unsigned long long)fc->next_k,
                     (unsigned long long)due);
    size_t pad = o->size > (size_t)m ? o->size - (size_t)m : 0;
    size_t n = 0;
    if (o->protocol == PROTO_GATEWAY) {
        n = (size_t)snprintf(f->text, f->text_cap, "{\"event\":\"publish\",\"data\":{\"room\":\"%s\",\"text\":\"%s", o->room, marker);
    } else if (o->protocol == PROTO_SOCKETIO) {
        n = (size_t)snprintf(f->text, f->text_cap, "42[\"room-emit\",\"%s\",\"%s", o->room, marker);
    } else {
        n = (size_t)snprintf(f->text, f->text_cap, "%s", marker);
    }
    memset(f->text + n, 'x', pad);
    n += pad;
    if (o->protocol == PROTO_GATEWAY) n += (size_t)snprintf(f->text + n, f->text_cap - n, "\"}}");
    if (o->protocol == PROTO_SOCKETIO) n += (size_t)snprintf(f->text + n, f->text_cap - n, "\"]");
    ws_send_frame(w, c, NWS_OP_TEXT, (const uint8_t *)f->text, n);
    f->published++;
}

static uint64_t fan_tick(worker *w, uint64_t now) {
    fan_worker *f = w->sc_data;
    uint64_t next = 0;
    for (int i = 0; i < f->npub_conns; i++) {
        wsconn *c = f->pub_conns[i];
        fan_conn *fc = c->user;
        if (c->gen != f->pub_gens[i] || c->state != WS_OPEN || fc == NULL) continue;
        while (fc->next_k < f->per_pub) {
            uint64_t due = publish_due(w, fc, fc->next_k);
            if (due > now) {
                if (next == 0 || due < next) next = due;
                break;
            }
            publish(w, f, c, fc, due);
            if (++fc->next_k == f->per_pub) f->pubs_done++;
        }
    }
    return next;
}

static int fan_drained(worker *w) {
    fan_worker *f = w->sc_data;
    return f->remaining == 0 && f->pubs_done >= f->npubs;
}

/* A subscriber whose join was not acknowledged by the setup deadline would make the counts
 * meaningless: it is dropped as timed out (fan_on_end accounts for it). */
static void fan_on_go(worker *w) {
    for (uint32_t s = 0; s < w->nslots; s++) {
        wsconn *c = &w->conns[s];
        fan_conn *fc = c->user;
        if (c->state == WS_OPEN && fc != NULL && fc->role == ROLE_SUBSCRIBER && !fc->joined) ws_kill(w, c, ERR_TIMEOUT);
    }
}

static void fan_report(worker **ws, int n, bench_run *run, report *r) {
    const bench_opts *o = run->opt;
    uint64_t published = 0, received = 0, measured = 0, dups = 0, pub_rx = 0;
    int subs_opened = 0, pubs_opened = 0;
    histogram *h = hist_new();
    if (h == NULL) abort();
    for (int i = 0; i < n; i++) {
        fan_worker *f = ws[i]->sc_data;
        published += f->published;
        measured += f->measured;
        dups += f->duplicates;
        pub_rx += f->publisher_receptions;
        subs_opened += f->subs_opened;
        pubs_opened += f->pubs_opened;
        for (int s = 0; s < f->nsubs; s++) received += f->conns[s].received;
        hist_merge(h, ws[i]->hist);
    }
    uint64_t per_pub = publishes_per_publisher(o);
    uint64_t planned = per_pub * (uint64_t)o->publishers;
    uint64_t expected = (uint64_t)o->subscribers * published;
    report_param_str(r, "protocol", o->protocol == PROTO_GATEWAY ? "gateway" : o->protocol == PROTO_SOCKETIO ? "socketio" : "broadcast");
    if (o->protocol != PROTO_BROADCAST) report_param_str(r, "room", o->room);
    report_param_int(r, "subscribers", o->subscribers);
    report_param_int(r, "publishers", o->publishers);
    report_param_num(r, "rate", o->rate, 1);
    report_param_int(r, "size", (long long)o->size);
    report_result_num(r, "deliveries_per_s", (double)measured / o->duration, 1);
    report_result_int(r, "publishes", (long long)published);
    report_result_int(r, "publishes_planned", (long long)planned);
    report_result_int(r, "expected_deliveries", (long long)expected);
    report_result_int(r, "received", (long long)received);
    report_result_int(r, "missing", (long long)(expected > received ? expected - received : 0));
    report_result_int(r, "duplicates", (long long)dups);
    report_result_int(r, "measured_deliveries", (long long)measured);
    report_result_int(r, "subscribers_opened", subs_opened);
    report_result_int(r, "publishers_opened", pubs_opened);
    if (o->protocol == PROTO_BROADCAST) report_result_int(r, "publisher_receptions", (long long)pub_rx);
    report_latency(r, "delivery_latency_us", h);
    hist_free(h);
    if (expected > received) run->errors[ERR_MISSING] += expected - received;
    if (received != expected) report_fail(r, "expected %llu deliveries (subscribers x publishes), received %llu",
                                          (unsigned long long)expected, (unsigned long long)received);
    if (published != planned) report_fail(r, "published %llu of %llu planned", (unsigned long long)published, (unsigned long long)planned);
}

static void fan_destroy(worker *w) {
    fan_worker *f = w->sc_data;
    if (f == NULL) return;
    for (int i = 0; f->conns && i < w->target; i++) {
        free(f->conns[i].seen);
        free(f->conns[i].asm_buf);
    }
    free(f->conns);
    free(f->text);
    free(f->pub_conns);
    free(f->pub_gens);
    free(f);
    w->sc_data = NULL;
}

const scenario scenario_fanout = {
    .name = "fanout",
    .summary = "M subscribers, K publishers at R publishes/s: deliveries/s, delivery latency, exact counts",
    .check = fan_check,
    .uses_histogram = 1,
    /* On loopback the server's core wakes the harness for each delivery it sends; a worker
     * that slept after every message made a 10,000-subscriber publish cost the server up to
     * twice a bare send() loop. Waiting for 64 deliveries or 200 us keeps the harness awake
     * through a burst. A delivery's time is taken when the worker wakes, so the window can
     * only add to the latency reported, never hide any. */
    .wait_batch = 64,
    .wait_window_ns = 200000,
    .setup = fan_setup,
    .ready = fan_ready,
    .on_open = fan_on_open,
    .on_data = fan_on_data,
    .on_end = fan_on_end,
    .on_go = fan_on_go,
    .tick = fan_tick,
    .drained = fan_drained,
    .report = fan_report,
    .destroy = fan_destroy,
};
