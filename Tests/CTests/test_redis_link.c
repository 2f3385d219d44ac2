/*
 * test_redis_link.c — the Redis link against a real redis-server that each test starts on a
 * free loopback port and kills by its pid: payloads round-trip byte for byte (NUL, 1 MiB);
 * the subscription set is renewed after Redis is killed and restarted; a publish while down
 * is dropped and counted and never arrives later; a link started before Redis comes up by
 * itself; unsubscribe stops delivery; NUMSUB counts subscribers and answers -1 when the link
 * is down; AUTH, SELECT and their failures; TLS with a certificate made here by the openssl
 * command; the pending-bytes cap; an attempt that gets no answer ends at its deadline; stop
 * returns promptly whatever the link is doing.
 *
 * Every wait has a deadline. redis-server dies with this process (PR_SET_PDEATHSIG) even if
 * a test crashes. TLS tests are skipped with a printed reason when openssl is missing.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nws_redis.h"
#include "nws_test.h"

/* ---- time ---- */

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* ---- redis-server processes ---- */

static char tmp_dir[64];

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static int accepts(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0) close(fd);
    return ok;
}

typedef struct server_opts {
    const char *password;   /* --requirepass */
    int tls;                /* serve TLS only, with the certificate in tmp_dir */
} server_opts;

/* Starts redis-server on port and waits until it accepts connections; the pid, or -1. */
static pid_t redis_start(int port, const server_opts *o) {
    char portstr[16], logpath[128], cert[128], key[128];
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(logpath, sizeof logpath, "%s/redis-%d.log", tmp_dir, port);
    snprintf(cert, sizeof cert, "%s/cert.pem", tmp_dir);
    snprintf(key, sizeof key, "%s/key.pem", tmp_dir);
    const char *argv[40];
    int n = 0;
    argv[n++] = "redis-server";
    argv[n++] = "--bind"; argv[n++] = "127.0.0.1";
    argv[n++] = "--save"; argv[n++] = "";
    argv[n++] = "--appendonly"; argv[n++] = "no";
    argv[n++] = "--daemonize"; argv[n++] = "no";
    argv[n++] = "--dir"; argv[n++] = tmp_dir;
    if (o && o->tls) {
        argv[n++] = "--port"; argv[n++] = "0";
        argv[n++] = "--tls-port"; argv[n++] = portstr;
        argv[n++] = "--tls-cert-file"; argv[n++] = cert;
        argv[n++] = "--tls-key-file"; argv[n++] = key;
        argv[n++] = "--tls-ca-cert-file"; argv[n++] = cert;
        argv[n++] = "--tls-auth-clients"; argv[n++] = "no";
    } else {
        argv[n++] = "--port"; argv[n++] = portstr;
    }
    if (o && o->password) {
        argv[n++] = "--requirepass"; argv[n++] = o->password;
    }
    argv[n] = NULL;

    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
            close(log);
        }
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    uint64_t deadline = now_ms() + 5000;
    while (now_ms() < deadline) {
        if (accepts(port)) return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            fprintf(stderr, "  redis-server exited at start; see %s\n", logpath);
            return -1;
        }
        sleep_ms(5);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* SIGKILL, as a crash would: the kernel closes Redis's sockets and nothing is said. */
static void redis_kill(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* ---- what the callbacks saw ---- */

#define MAX_SEEN 64

typedef struct probe {
    pthread_mutex_t mu;
    int messages;                     /* on_message calls */
    char *chan[MAX_SEEN];
    size_t chan_len[MAX_SEEN];
    uint8_t *data[MAX_SEEN];
    size_t len[MAX_SEEN];
    int states;                       /* on_state calls */
    int up[MAX_SEEN];
    char reason[MAX_SEEN][256];
    int replies;                      /* on_reply calls */
    long long numsub[MAX_SEEN];       /* by token: a NUMSUB's count, -1 for no reply (NULL),
                                       * -2 for another reply; LLONG_MIN until answered */
    char reply[MAX_SEEN][128];        /* by token: the reply written out (see show_reply) */
    int stopped;                      /* set after nws_redis_link_stop returned */
    int after_stop;                   /* callbacks seen after that: must stay 0 */
} probe;

static void on_message(void *ctx, const char *channel, size_t channel_len, const uint8_t *data,
                       size_t len) {
    probe *p = ctx;
    pthread_mutex_lock(&p->mu);
    if (p->stopped) p->after_stop++;
    if (p->messages < MAX_SEEN) {
        int i = p->messages;
        p->chan[i] = malloc(channel_len + 1);
        memcpy(p->chan[i], channel, channel_len);
        p->chan_len[i] = channel_len;
        p->data[i] = malloc(len + 1);
        memcpy(p->data[i], data, len);
        p->len[i] = len;
    }
    p->messages++;
    pthread_mutex_unlock(&p->mu);
}

static int verbose;   /* NWS_TEST_VERBOSE=1: print every state change and its reason */

static void on_state(void *ctx, int up, const char *reason) {
    probe *p = ctx;
    if (verbose) printf("    state %s%s%s\n", up ? "up" : "down", reason ? ": " : "", reason ? reason : "");
    pthread_mutex_lock(&p->mu);
    if (p->stopped) p->after_stop++;
    if (p->states < MAX_SEEN) {
        p->up[p->states] = up;
        snprintf(p->reason[p->states], sizeof p->reason[0], "%s", reason ? reason : "");
    }
    p->states++;
    pthread_mutex_unlock(&p->mu);
}

/* A reply as text: "nil", ":42", "+OK", "-ERR ...", "$bytes", "*[a,b]" (nested). */
static void show_reply(const nws_redis_reply *r, char *out, size_t cap) {
    size_t len = 0;
    const char *s = nws_redis_reply_string(r, &len);
    switch (nws_redis_reply_type(r)) {
    case NWS_REDIS_REPLY_NIL: snprintf(out, cap, "nil"); break;
    case NWS_REDIS_REPLY_INTEGER: snprintf(out, cap, ":%lld", nws_redis_reply_integer(r)); break;
    case NWS_REDIS_REPLY_STATUS: snprintf(out, cap, "+%.*s", (int)len, s); break;
    case NWS_REDIS_REPLY_ERROR: snprintf(out, cap, "-%.*s", (int)len, s); break;
    case NWS_REDIS_REPLY_STRING: snprintf(out, cap, "$%.*s", (int)len, s); break;
    case NWS_REDIS_REPLY_ARRAY: {
        size_t used = (size_t)snprintf(out, cap, "*[");
        for (size_t i = 0; i < nws_redis_reply_count(r) && used < cap; i++) {
            if (i > 0 && used + 1 < cap) out[used++] = ',';
            show_reply(nws_redis_reply_element(r, i), out + used, cap - used);
            used += strlen(out + used);
        }
        if (used + 1 < cap) snprintf(out + used, cap - used, "]");
        break;
    }
    default: snprintf(out, cap, "?");
    }
}

static void on_reply(void *ctx, uint64_t token, const nws_redis_reply *reply) {
    probe *p = ctx;
    pthread_mutex_lock(&p->mu);
    if (p->stopped) p->after_stop++;
    if (token < MAX_SEEN) {
        long long n = reply == NULL ? -1 : -2;
        const nws_redis_reply *count = reply ? nws_redis_reply_element(reply, 1) : NULL;
        if (count != NULL && nws_redis_reply_type(count) == NWS_REDIS_REPLY_INTEGER) n = nws_redis_reply_integer(count);
        p->numsub[token] = n;
        if (reply != NULL) show_reply(reply, p->reply[token], sizeof p->reply[token]);
        else snprintf(p->reply[token], sizeof p->reply[token], "(none)");
    }
    p->replies++;
    pthread_mutex_unlock(&p->mu);
}

static int numsub(nws_redis_link *l, const char *chan, size_t len, uint64_t token) {
    const char *argv[3] = {"PUBSUB", "NUMSUB", chan};
    size_t lens[3] = {6, 6, len};
    return nws_redis_command(l, 3, argv, lens, token);
}

static void probe_init(probe *p) {
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    for (int i = 0; i < MAX_SEEN; i++) p->numsub[i] = LLONG_MIN;
}

static void probe_free(probe *p) {
    for (int i = 0; i < p->messages && i < MAX_SEEN; i++) {
        free(p->chan[i]);
        free(p->data[i]);
    }
    pthread_mutex_destroy(&p->mu);
}

static int read_int(probe *p, const int *field) {
    pthread_mutex_lock(&p->mu);
    int v = *field;
    pthread_mutex_unlock(&p->mu);
    return v;
}

/* Waits until *field reaches n; 1, or 0 at the deadline. */
static int wait_count(probe *p, const int *field, int n, unsigned ms) {
    uint64_t deadline = now_ms() + ms;
    while (read_int(p, field) < n) {
        if (now_ms() >= deadline) return 0;
        sleep_ms(2);
    }
    return 1;
}

/* Waits until the latest state reported is `up`; 1, or 0 at the deadline. */
static int wait_state(probe *p, int up, unsigned ms) {
    uint64_t deadline = now_ms() + ms;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int ok = p->states > 0 && p->states <= MAX_SEEN && p->up[p->states - 1] == up;
        pthread_mutex_unlock(&p->mu);
        if (ok) return 1;
        if (now_ms() >= deadline) return 0;
        sleep_ms(2);
    }
}

static long long wait_numsub(probe *p, uint64_t token, unsigned ms) {
    uint64_t deadline = now_ms() + ms;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        long long v = p->numsub[token];
        pthread_mutex_unlock(&p->mu);
        if (v != LLONG_MIN || now_ms() >= deadline) return v;
        sleep_ms(2);
    }
}

/* Asks NUMSUB until Redis reports n subscribers of the channel: the way to know a SUBSCRIBE
 * or UNSUBSCRIBE sent on a link that was already up has been processed. Uses tokens from
 * *token upward. */
static int wait_subscribers(nws_redis_link *l, probe *p, const char *chan, size_t len,
                            long long n, uint64_t *token) {
    uint64_t deadline = now_ms() + 5000;
    while (now_ms() < deadline && *token < MAX_SEEN) {
        uint64_t t = (*token)++;
        if (numsub(l, chan, len, t) != 0) return 0;
        if (wait_numsub(p, t, 2000) == n) return 1;
        sleep_ms(10);
    }
    return 0;
}

static nws_redis_config config_for(int port) {
    nws_redis_config c = {0};
    c.host = "127.0.0.1";
    c.port = port;
    c.reconnect_min_ms = 20;
    c.reconnect_max_ms = 200;
    c.connect_timeout_ms = 2000;
    return c;
}

static nws_redis_link *start_link(const nws_redis_config *c, probe *p) {
    nws_redis_callbacks cb = {.ctx = p, .on_message = on_message, .on_state = on_state,
                              .on_reply = on_reply};
    nws_redis_link *l = NULL;
    int r = nws_redis_link_start(c, &cb, &l);
    NWS_CHECK_EQ(r, 0);
    return r == 0 ? l : NULL;
}

static void stop_link(nws_redis_link *l, probe *p) {
    if (l == NULL) return;
    nws_redis_link_stop(l);
    pthread_mutex_lock(&p->mu);
    p->stopped = 1;
    pthread_mutex_unlock(&p->mu);
}

static nws_redis_stats stats_of(nws_redis_link *l) {
    nws_redis_stats s;
    nws_redis_stats_get(l, &s);
    return s;
}

static int wait_published(nws_redis_link *l, uint64_t n, unsigned ms) {
    uint64_t deadline = now_ms() + ms;
    while (stats_of(l).published < n) {
        if (now_ms() >= deadline) return 0;
        sleep_ms(2);
    }
    return 1;
}

static int message_is(probe *p, int i, const void *chan, size_t chan_len, const void *data,
                      size_t len) {
    pthread_mutex_lock(&p->mu);
    int ok = i < p->messages && i < MAX_SEEN && p->chan_len[i] == chan_len &&
             memcmp(p->chan[i], chan, chan_len) == 0 && p->len[i] == len &&
             memcmp(p->data[i], data, len) == 0;
    pthread_mutex_unlock(&p->mu);
    return ok;
}

#define LIT(s) (s), (sizeof(s) - 1)

/* ---- the tests ---- */

static void pubsub_binaryChannelAndPayloadsRoundTripByteForByte(void) {
    int port = free_port();
    pid_t redis = redis_start(port, NULL);
    NWS_CHECK(redis > 0);
    probe p;
    probe_init(&p);
    nws_redis_config c = config_for(port);
    nws_redis_link *l = start_link(&c, &p);
    static const char chan[] = "bin\0chan";   /* a NUL inside the channel name too */
    NWS_CHECK_EQ(nws_redis_subscribe(l, chan, sizeof chan - 1), 0);
    NWS_CHECK(wait_state(&p, 1, 5000));

    size_t big_len = 1u << 20;
    uint8_t *big = malloc(big_len);
    uint32_t x = 12345;
    for (size_t i = 0; i < big_len; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (uint8_t)(x >> 24);
    }
    big[0] = 0;
    big[big_len - 1] = 0;
    static const uint8_t nuls[] = {'a', 0, 'b', 0, 0, '\r', '\n', 0xff};
    NWS_CHECK_EQ(nws_redis_publish(l, chan, sizeof chan - 1, (const uint8_t *)"", 0), 0);
    NWS_CHECK_EQ(nws_redis_publish(l, chan, sizeof chan - 1, nuls, sizeof nuls), 0);
    NWS_CHECK_EQ(nws_redis_publish(l, chan, sizeof chan - 1, big, big_len), 0);
    NWS_CHECK(wait_count(&p, &p.messages, 3, 5000));
    NWS_CHECK(message_is(&p, 0, chan, sizeof chan - 1, "", 0));
    NWS_CHECK(message_is(&p, 1, chan, sizeof chan - 1, nuls, sizeof nuls));
    NWS_CHECK(message_is(&p, 2, chan, sizeof chan - 1, big, big_len));
    NWS_CHECK(wait_published(l, 3, 2000));
    nws_redis_stats s = stats_of(l);
    NWS_CHECK_EQ(s.received, 3);
    NWS_CHECK_EQ(s.dropped, 0);
    NWS_CHECK_EQ(s.up, 1);
    NWS_CHECK_EQ(s.reconnects, 0);
    stop_link(l, &p);
    NWS_CHECK_EQ(p.after_stop, 0);
    redis_kill(redis);
    free(big);
    probe_free(&p);
}

static void reconnect_renewsTheSubscriptionSetAfterRedisRestarts(void) {
    int port = free_port();
    pid_t redis = redis_start(port, NULL);
    NWS_CHECK(redis > 0);
    probe p;
    probe_init(&p);
    nws_redis_config c = config_for(port);
    nws_redis_link *l = start_link(&c, &p);
    NWS_CHECK_EQ(nws_redis_subscribe(l, LIT("room:a")), 0);
    NWS_CHECK_EQ(nws_redis_subscribe(l, LIT("room:b")), 0);
    /* Enough channels that the renewal takes several SUBSCRIBE batches. */
    char name[32];
    for (int i = 0; i < 600; i++) {
        int n = snprintf(name, sizeof name, "many:%d", i);
        NWS_CHECK_EQ(nws_redis_subscribe(l, name, (size_t)n), 0);
    }
    NWS_CHECK(wait_state(&p, 1, 5000));
    NWS_CHECK_EQ(nws_redis_publish(l, LIT("room:a"), (const uint8_t *)"one", 3), 0);
    NWS_CHECK(wait_count(&p, &p.messages, 1, 5000));

    uint64_t killed_at = now_ms();
    redis_kill(redis);
    NWS_CHECK(wait_state(&p, 0, 2000));
    NWS_CHECK(now_ms() - killed_at < 1000);   /* noticed from the closed socket, not a timer */
    NWS_CHECK_EQ(stats_of(l).up, 0);
    sleep_ms(150);   /* a few failed attempts: still one "down" only */
    redis = redis_start(port, NULL);
    NWS_CHECK(redis > 0);
    NWS_CHECK(wait_state(&p, 1, 5000));

    /* Up again means Redis confirmed both channels: nothing to wait for before publishing. */
    NWS_CHECK_EQ(nws_redis_publish(l, LIT("room:b"), (const uint8_t *)"two", 3), 0);
    NWS_CHECK_EQ(nws_redis_publish(l, LIT("room:a"), (const uint8_t *)"three", 5), 0);
    NWS_CHECK_EQ(nws_redis_publish(l, LIT("many:0"), (const uint8_t *)"first", 5), 0);
    NWS_CHECK_EQ(nws_redis_publish(l, LIT("many:599"), (const uint8_t *)"last", 4), 0);
    NWS_CHECK(wait_count(&p, &p.messages, 5, 5000));
    NWS_CHECK(message_is(&p, 1, LIT("room:b"), "two", 3));
    NWS_CHECK(message_is(&p, 2, LIT("room:a"), "three", 5));
    NWS_CHECK(message_is(&p, 3, LIT("many:0"), "first", 5));
    NWS_CHECK(message_is(&p, 4, LIT("many:599"), "last", 4));
    uint64_t token = 0;
    NWS_CHECK(wait_subscribers(l, &p, LIT("many:300"), 1, &token));
    NWS_CHECK_EQ(read_int(&p, &p.states), 3);
    NWS_CHECK(p.up[0] == 1 && p.up[1] == 0 && p.up[2] == 1);
    NWS_CHECK(p.reason[1][0] != '\0');
    nws_redis_stats s = stats_of(l);
    NWS_CHECK_EQ(s.reconnects, 1);
    NWS_CHECK_EQ(s.up, 1);
    stop_link(l, &p);
    redis_kill(redis);
    probe_free(&p);
}

static void publishWhileDown_isDroppedCountedAndNeverDeliveredAfterRestart(void) {
    int port = free_port();
    pid_t redis = redis_start(port, NULL);
    NWS_CHECK(redis > 0);
    probe p;
    probe_init(&p);
    nws_redis_config c = config_for(port);
    nws_redis_link *l = start_link(&c, &p);
    NWS_CHECK_EQ(nws_redis_subscribe(l, LIT("x")), 0);
    NWS_CHECK(wait_state(&p, 1, 5000));
    redis_kill(redis);
    NWS_CHECK(wait_state(&p, 0, 2000));
    NWS_CHECK_EQ(nws_redis_publish(l, LIT("x"), (const uint8_t *)"lost", 4), -ENOTCONN);
    NWS_CHECK_EQ(nws_redis_publish(l, LIT("x"), (const uint8_t *)"lost", 4), -ENOTCONN);
    NWS_CHECK_EQ(stats_of(l).dropped, 2);
    redis = redis_start(port, NULL);
    NWS_CHECK(redis > 0);
    NWS_CHECK(wait_state(&p, 1, 5000));
    NWS_CHECK_EQ(nws_redis_publish(l, LIT("x"), (const uint8_t *)"after", 5), 0);
    NWS_CHECK(wait_count(&p, &p.messages, 1, 5000));
    sleep_ms(100);   /* room for anything that should not come */
    NWS_CHECK_EQ(read_int(&p, &p.messages), 1);
    NWS_CHECK(message_is(&p, 0, LIT("x"), "after", 5));
    nws_redis_stats s = stats_of(l);
    NWS_CHECK_EQ(s.dropped, 2);
    NWS_CHECK_EQ(s.received, 1);
    stop_link(l, &p);
    redis_kill(redis);
    probe_free(&p);
}

static void startWithRedisDown_reportsDownOnceThenComesUpByItself(void) {
    int port = free_port();
    probe p;
    probe_init(&p);
    nws_redis_config c = config_for(port);
    nws_redis_link *l = start_link(&c, &p);
    NWS_CHECK_EQ(nws_redis_subscribe(l, LIT("late")), 0);
    NWS_CHECK(wait_state(&p, 0, 2000));
    NWS_CHECK(strstr(p.reason[0], "refused") != NULL);
    sleep_ms(300);   /* several attempts fail meanwhile, reported once */
    NWS_CHECK_EQ(read_int(&p, &p.states), 1);
    pid_t redis = redis_start(port, NULL);
    NWS_CHECK(redis > 0);
    NWS_CHECK(wait_state(&p, 1, 5000));
    NWS_CHECK_EQ(read_int(&p, &p.states), 2);
    NWS_CHECK_EQ(nws_redis_publish(l, LIT("late"), (const uint8_t *)"hi", 2), 0);
    NWS_CHECK(wait_count(&p, &p.messages, 1, 5000));
    NWS_CHECK_EQ(stats_of(l).reconnects, 0);   /* the first time up is not a reconnection */
    stop_link(l, &p);
    redis_kill(redis);
    probe_free(&p);
}

static void unsubscribe_stopsDelivery(void) {
    int port = free_port();
    pid_t redis = redis_start(port, NULL);
    NWS_CHECK(redis > 0);
    probe p;
    probe_init(&p);
    nws_redis_config c = config_for(port);
    nws_redis_link *l = start_link(&c, &p);
    NWS_CHECK(wait_state(&p, 1, 5000));
    uint64_t token = 0;
    /* Subscribed while up: sent at once, confirmed before NUMSUB says 1. */
    NWS_CHECK_EQ(nws_redis_subscribe(l, LIT("u")), 0);
    NWS_CHECK(wait_subscribers(l, &p, LIT("u"), 1, &token));
    NWS_CHECK_EQ(nws_redis_publish(l, LIT("u"), (const uint8_t *)"1", 1), 0);
    NWS_CHECK(wait_count(&p, &p.messages, 1, 5000));
    NWS_CHECK_EQ(nws_redis_unsubscribe(l, LIT("u")), 0);
    NWS_CHECK_EQ(nws_redis_unsubscribe(l, LIT("u")), 0);   /* not in the set: no-op */
    NWS_CHECK(wait_subscribers(l, &p, LIT("u"), 0, &token));
    NWS_CHECK_EQ(nws_redis_publish(l, LIT("u"), (const uint8_t *)"2", 1), 0);
    NWS_CHECK(wait_published(l, 2, 2000));
    sleep_ms(100);
    NWS_CHECK_EQ(read_int(&p, &p.messages), 1);
    stop_link(l, &p);
    redis_kill(redis);
    probe_free(&p);
}

static void numsub_countsBothLinksAndAnswersMinusOneWhenDown(void) {
    int port = free_port();
    pid_t redis = redis_start(port, NULL);
    NWS_CHECK(redis > 0);
    probe pa, pb;
    probe_init(&pa);
    probe_init(&pb);
    nws_redis_config c = config_for(port);
    nws_redis_link *a = start_link(&c, &pa);
    nws_redis_link *b = start_link(&c, &pb);
    NWS_CHECK_EQ(nws_redis_subscribe(a, LIT("n")), 0);
    NWS_CHECK_EQ(nws_redis_subscribe(b, LIT("n")), 0);
    NWS_CHECK(wait_state(&pa, 1, 5000));
    NWS_CHECK(wait_state(&pb, 1, 5000));
    /* b sends its SUBSCRIBE when it connects, which can come after a's question: ask until
     * Redis has seen both (tokens 16 upward, clear of the ones below). */
    uint64_t token = 16;
    NWS_CHECK(wait_subscribers(a, &pa, LIT("n"), 2, &token));
    NWS_CHECK_EQ(numsub(a, LIT("nobody"), 8), 0);
    NWS_CHECK_EQ(wait_numsub(&pa, 8, 2000), 0);

    /* Asked while Redis is frozen, then Redis dies: the question was written, the answer
     * never comes, and the link answers -1 when it goes down. */
    kill(redis, SIGSTOP);
    NWS_CHECK_EQ(numsub(a, LIT("n"), 9), 0);
    sleep_ms(50);
    NWS_CHECK_EQ(wait_numsub(&pa, 9, 0), LLONG_MIN);
    redis_kill(redis);
    NWS_CHECK_EQ(wait_numsub(&pa, 9, 2000), -1);
    NWS_CHECK(wait_state(&pa, 0, 2000));
    /* Asked while down: -1 from the link thread. */
    NWS_CHECK_EQ(numsub(a, LIT("n"), 10), 0);
    NWS_CHECK_EQ(wait_numsub(&pa, 10, 2000), -1);
    stop_link(a, &pa);
    stop_link(b, &pb);
    probe_free(&pa);
    probe_free(&pb);
}

/* What connection state recovery keeps in Redis goes through nws_redis_command: binary values
 * round-trip, replies come back by token and in order with PUBLISH, errors are replies, and a
 * command with token 0 gets no callback. */
static void command_binaryValuesRepliesByTokenErrorsAndNoReplyWanted(void) {
    int port = free_port();
    pid_t redis = redis_start(port, NULL);
    NWS_CHECK(redis > 0);
    probe p;
    probe_init(&p);
    nws_redis_config c = config_for(port);
    nws_redis_link *l = start_link(&c, &p);
    NWS_CHECK(wait_state(&p, 1, 5000));

    static const char value[] = {'a', 0, 'b', (char)0xff};
    const char *set[5] = {"SET", "k\0", value, "PX", "60000"};
    size_t set_len[5] = {3, 2, sizeof value, 2, 5};
    NWS_CHECK_EQ(nws_redis_command(l, 5, set, set_len, 0), 0);   /* no reply wanted */
    const char *getdel[2] = {"GETDEL", "k\0"};
    size_t getdel_len[2] = {6, 2};
    NWS_CHECK_EQ(nws_redis_command(l, 2, getdel, getdel_len, 1), 0);
    NWS_CHECK_EQ(nws_redis_command(l, 2, getdel, getdel_len, 2), 0);   /* taken once */
    const char *bad[1] = {"NOSUCHCOMMAND"};
    size_t bad_len[1] = {13};
    NWS_CHECK_EQ(nws_redis_command(l, 1, bad, bad_len, 3), 0);
    for (int i = 0; i < 3; i++) {
        char entry[2] = {(char)('x' + i), 0};
        const char *xadd[7] = {"XADD", "s", "MAXLEN", "~", "100", "*", "b"};
        const char *argv[8];
        size_t lens[8] = {4, 1, 6, 1, 3, 1, 1, 1};
        memcpy(argv, xadd, sizeof xadd);
        argv[7] = entry;
        NWS_CHECK_EQ(nws_redis_command(l, 8, argv, lens, 0), 0);
    }
    const char *range[6] = {"XREVRANGE", "s", "+", "-", "COUNT", "2"};
    size_t range_len[6] = {9, 1, 1, 1, 5, 1};
    NWS_CHECK_EQ(nws_redis_command(l, 6, range, range_len, 4), 0);
    NWS_CHECK(wait_count(&p, &p.replies, 4, 2000));
    pthread_mutex_lock(&p.mu);
    NWS_CHECK_EQ(memcmp(p.reply[1], "$a", 3), 0);   /* the NUL ends the text; length checked below */
    NWS_CHECK_EQ(strcmp(p.reply[2], "nil"), 0);
    NWS_CHECK_EQ(strncmp(p.reply[3], "-ERR unknown command", 20), 0);
    /* Newest first, two of three: *[*[id,*[$b,$z]],*[id,*[$b,$y]]] */
    NWS_CHECK(strstr(p.reply[4], "$b,$z]") != NULL);
    NWS_CHECK(strstr(p.reply[4], "$b,$y]") != NULL);
    NWS_CHECK(strstr(p.reply[4], "$x") == NULL);
    NWS_CHECK_EQ(p.replies, 4);
    pthread_mutex_unlock(&p.mu);

    /* Asked while down: NULL from the link thread; token 0 is refused instead. */
    redis_kill(redis);
    NWS_CHECK(wait_state(&p, 0, 2000));
    NWS_CHECK_EQ(nws_redis_command(l, 2, getdel, getdel_len, 5), 0);
    NWS_CHECK_EQ(wait_numsub(&p, 5, 2000), -1);
    NWS_CHECK_EQ(nws_redis_command(l, 5, set, set_len, 0), -ENOTCONN);
    NWS_CHECK_EQ(nws_redis_command(l, 0, set, set_len, 6), -EINVAL);
    stop_link(l, &p);
    probe_free(&p);
}

static void auth_rightPasswordComesUpWithOrWithoutUsernameAndSelect(void) {
    int port = free_port();
    server_opts o = {.password = "s3cret"};
    pid_t redis = redis_start(port, &o);
    NWS_CHECK(redis > 0);
    probe p1, p2;
    probe_init(&p1);
    probe_init(&p2);
    nws_redis_config c = config_for(port);
    c.password = "s3cret";
    c.db = 3;
    nws_redis_link *l1 = start_link(&c, &p1);
    c.username = "default";   /* Redis 6 ACL form: AUTH default <password> */
    nws_redis_link *l2 = start_link(&c, &p2);
    NWS_CHECK_EQ(nws_redis_subscribe(l1, LIT("auth")), 0);
    NWS_CHECK(wait_state(&p1, 1, 5000));
    NWS_CHECK(wait_state(&p2, 1, 5000));
    NWS_CHECK_EQ(nws_redis_publish(l2, LIT("auth"), (const uint8_t *)"ok", 2), 0);
    NWS_CHECK(wait_count(&p1, &p1.messages, 1, 5000));
    NWS_CHECK(message_is(&p1, 0, LIT("auth"), "ok", 2));
    stop_link(l1, &p1);
    stop_link(l2, &p2);
    redis_kill(redis);
    probe_free(&p1);
    probe_free(&p2);
}

static void auth_wrongPasswordOrBadDbReportsDownWithTheReason(void) {
    int port = free_port();
    server_opts o = {.password = "s3cret"};
    pid_t redis = redis_start(port, &o);
    NWS_CHECK(redis > 0);
    probe p1, p2, p3;
    probe_init(&p1);
    probe_init(&p2);
    probe_init(&p3);
    nws_redis_config c = config_for(port);
    c.password = "wrong";
    nws_redis_link *l1 = start_link(&c, &p1);
    c.password = NULL;   /* none at all: SUBSCRIBE meets NOAUTH */
    nws_redis_link *l2 = start_link(&c, &p2);
    c.password = "s3cret";
    c.db = 100000;
    nws_redis_link *l3 = start_link(&c, &p3);
    NWS_CHECK(wait_state(&p1, 0, 2000));
    NWS_CHECK(wait_state(&p2, 0, 2000));
    NWS_CHECK(wait_state(&p3, 0, 2000));
    NWS_CHECK(strstr(p1.reason[0], "AUTH") != NULL);
    NWS_CHECK(strstr(p1.reason[0], "WRONGPASS") != NULL || strstr(p1.reason[0], "invalid") != NULL);
    NWS_CHECK(strstr(p2.reason[0], "NOAUTH") != NULL);
    NWS_CHECK(strstr(p3.reason[0], "SELECT") != NULL);
    sleep_ms(300);   /* it keeps retrying, quietly */
    NWS_CHECK_EQ(read_int(&p1, &p1.states), 1);
    NWS_CHECK_EQ(stats_of(l1).up, 0);
    NWS_CHECK_EQ(nws_redis_publish(l1, LIT("c"), (const uint8_t *)"x", 1), -ENOTCONN);
    uint64_t t0 = now_ms();
    stop_link(l1, &p1);
    stop_link(l2, &p2);
    stop_link(l3, &p3);
    NWS_CHECK(now_ms() - t0 < 1000);
    redis_kill(redis);
    probe_free(&p1);
    probe_free(&p2);
    probe_free(&p3);
}

static void publish_overThePendingCapIsDroppedWithEnobufs(void) {
    int port = free_port();
    pid_t redis = redis_start(port, NULL);
    NWS_CHECK(redis > 0);
    probe p;
    probe_init(&p);
    nws_redis_config c = config_for(port);
    c.max_pending_bytes = 64 * 1024;
    nws_redis_link *l = start_link(&c, &p);
    NWS_CHECK(wait_state(&p, 1, 5000));
    static uint8_t big[80 * 1024], chunk[16 * 1024];
    /* Larger than the cap by itself: refused even with nothing pending. */
    NWS_CHECK_EQ(nws_redis_publish(l, LIT("cap"), big, sizeof big), -ENOBUFS);
    /* Frozen Redis: the socket buffers fill, then the link's own buffer reaches the cap. */
    kill(redis, SIGSTOP);
    uint64_t accepted = 0, refused = 0;
    uint64_t deadline = now_ms() + 10000;
    while (refused < 5 && now_ms() < deadline) {
        int r = nws_redis_publish(l, LIT("cap"), chunk, sizeof chunk);
        if (r == 0) accepted++;
        else if (r == -ENOBUFS) refused++;
        else break;
        if (r == 0) sleep_ms(1);
    }
    NWS_CHECK_EQ(refused, 5);
    NWS_CHECK(accepted > 0);
    NWS_CHECK_EQ(stats_of(l).dropped, refused + 1);
    /* Once Redis runs again, everything accepted goes through. */
    kill(redis, SIGCONT);
    NWS_CHECK(wait_published(l, accepted, 10000));
    NWS_CHECK_EQ(stats_of(l).published, accepted);
    stop_link(l, &p);
    redis_kill(redis);
    probe_free(&p);
}

static int have_openssl_cli(void) {
    return system("command -v openssl >/dev/null 2>&1") == 0;
}

static int make_certificate(void) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s/key.pem' -out '%s/cert.pem' "
             "-days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
             ">/dev/null 2>&1",
             tmp_dir, tmp_dir);
    return system(cmd) == 0;
}

static void tls_roundTripAndVerification(void) {
    if (!have_openssl_cli()) {
        printf("  skip: tls_roundTripAndVerification (no openssl command to make a certificate)\n");
        return;
    }
    NWS_CHECK(make_certificate());
    int port = free_port();
    server_opts o = {.tls = 1};
    pid_t redis = redis_start(port, &o);
    NWS_CHECK(redis > 0);
    char ca[128];
    snprintf(ca, sizeof ca, "%s/cert.pem", tmp_dir);

    probe p1, p2, p3;
    probe_init(&p1);
    probe_init(&p2);
    probe_init(&p3);
    nws_redis_config c = config_for(port);
    c.tls = 1;                           /* no verification: the self-signed certificate passes */
    nws_redis_link *l1 = start_link(&c, &p1);
    c.tls_verify = 1;                    /* verified against the CA and the name */
    c.tls_ca_file = ca;
    c.tls_server_name = "localhost";
    nws_redis_link *l2 = start_link(&c, &p2);
    c.tls_server_name = "not-this-host.example";
    nws_redis_link *l3 = start_link(&c, &p3);

    NWS_CHECK_EQ(nws_redis_subscribe(l1, LIT("tls")), 0);
    NWS_CHECK(wait_state(&p1, 1, 5000));
    NWS_CHECK(wait_state(&p2, 1, 5000));
    NWS_CHECK(wait_state(&p3, 0, 5000));
    NWS_CHECK(strstr(p3.reason[0], "verif") != NULL);

    size_t big_len = 1u << 20;
    uint8_t *big = malloc(big_len);
    for (size_t i = 0; i < big_len; i++) big[i] = (uint8_t)(i * 7 + (i >> 9));
    NWS_CHECK_EQ(nws_redis_publish(l2, LIT("tls"), big, big_len), 0);
    NWS_CHECK_EQ(nws_redis_publish(l2, LIT("tls"), (const uint8_t *)"\0z", 2), 0);
    NWS_CHECK(wait_count(&p1, &p1.messages, 2, 5000));
    NWS_CHECK(message_is(&p1, 0, LIT("tls"), big, big_len));
    NWS_CHECK(message_is(&p1, 1, LIT("tls"), "\0z", 2));

    /* Killed and restarted under TLS too: the handshake is redone and the set renewed. */
    redis_kill(redis);
    NWS_CHECK(wait_state(&p1, 0, 2000));
    redis = redis_start(port, &o);
    NWS_CHECK(redis > 0);
    NWS_CHECK(wait_state(&p1, 1, 5000));
    NWS_CHECK(wait_state(&p2, 1, 5000));
    NWS_CHECK_EQ(nws_redis_publish(l2, LIT("tls"), (const uint8_t *)"again", 5), 0);
    NWS_CHECK(wait_count(&p1, &p1.messages, 3, 5000));
    NWS_CHECK(message_is(&p1, 2, LIT("tls"), "again", 5));
    NWS_CHECK_EQ(stats_of(l1).reconnects, 1);

    stop_link(l1, &p1);
    stop_link(l2, &p2);
    stop_link(l3, &p3);
    redis_kill(redis);
    free(big);
    probe_free(&p1);
    probe_free(&p2);
    probe_free(&p3);
}

static void stop_returnsPromptlyWhileUpAndAnswersPendingNumsub(void) {
    int port = free_port();
    pid_t redis = redis_start(port, NULL);
    NWS_CHECK(redis > 0);
    probe p;
    probe_init(&p);
    nws_redis_config c = config_for(port);
    nws_redis_link *l = start_link(&c, &p);
    NWS_CHECK_EQ(nws_redis_subscribe(l, LIT("s")), 0);
    NWS_CHECK(wait_state(&p, 1, 5000));
    kill(redis, SIGSTOP);   /* the question below stays unanswered */
    NWS_CHECK_EQ(numsub(l, LIT("s"), 3), 0);
    sleep_ms(20);
    uint64_t t0 = now_ms();
    stop_link(l, &p);
    NWS_CHECK(now_ms() - t0 < 500);
    NWS_CHECK_EQ(p.numsub[3], -1);   /* answered before stop returned */
    NWS_CHECK_EQ(p.after_stop, 0);
    redis_kill(redis);
    probe_free(&p);
}

static void stop_returnsPromptlyWhileWaitingToReconnect(void) {
    int port = free_port();
    probe p;
    probe_init(&p);
    nws_redis_config c = config_for(port);
    c.reconnect_min_ms = 10000;   /* the thread would sleep 10 s if nothing woke it */
    c.reconnect_max_ms = 20000;
    nws_redis_link *l = start_link(&c, &p);
    NWS_CHECK(wait_state(&p, 0, 2000));
    uint64_t t0 = now_ms();
    stop_link(l, &p);
    NWS_CHECK(now_ms() - t0 < 500);
    NWS_CHECK_EQ(p.after_stop, 0);
    probe_free(&p);
}

/* A peer that accepts TCP (the kernel's backlog does) but never answers: the attempt's
 * deadline covers the hello, the link says why it is down, and stop is prompt mid-attempt. */
static void connectTimeout_silentServerIsReportedDownAndStopIsPromptMidAttempt(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    NWS_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 16) == 0 &&
              getsockname(fd, (struct sockaddr *)&a, &len) == 0);
    probe p;
    probe_init(&p);
    nws_redis_config c = config_for(ntohs(a.sin_port));
    c.connect_timeout_ms = 150;
    nws_redis_link *l = start_link(&c, &p);
    uint64_t t0 = now_ms();
    NWS_CHECK(wait_state(&p, 0, 2000));
    NWS_CHECK(now_ms() - t0 >= 140);
    NWS_CHECK(strstr(p.reason[0], "not up within 150 ms") != NULL);
    sleep_ms(30);   /* the next attempt is under way now (retry after 20 ms) */
    t0 = now_ms();
    stop_link(l, &p);
    NWS_CHECK(now_ms() - t0 < 500);
    NWS_CHECK_EQ(p.after_stop, 0);
    close(fd);
    probe_free(&p);
}

static void start_rejectsMissingHostAndUnreadableTlsFiles(void) {
    probe p;
    probe_init(&p);
    nws_redis_callbacks cb = {.ctx = &p, .on_state = on_state};
    nws_redis_link *l = NULL;
    nws_redis_config c = {0};
    NWS_CHECK_EQ(nws_redis_link_start(&c, &cb, &l), -EINVAL);
    c = config_for(6379);
    c.tls = 1;
    c.tls_ca_file = "/nonexistent/ca.pem";
    NWS_CHECK_EQ(nws_redis_link_start(&c, &cb, &l), -EINVAL);
    NWS_CHECK(l == NULL);
    probe_free(&p);
}

int main(void) {
    if (system("command -v redis-server >/dev/null 2>&1") != 0) {
        printf("redis link: skip: no redis-server on PATH (make deps installs it)\n");
        return 0;
    }
    verbose = getenv("NWS_TEST_VERBOSE") != NULL;
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/nws-redis-test-XXXXXX");
    if (mkdtemp(tmp_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    NWS_RUN(pubsub_binaryChannelAndPayloadsRoundTripByteForByte);
    NWS_RUN(reconnect_renewsTheSubscriptionSetAfterRedisRestarts);
    NWS_RUN(publishWhileDown_isDroppedCountedAndNeverDeliveredAfterRestart);
    NWS_RUN(startWithRedisDown_reportsDownOnceThenComesUpByItself);
    NWS_RUN(unsubscribe_stopsDelivery);
    NWS_RUN(numsub_countsBothLinksAndAnswersMinusOneWhenDown);
    NWS_RUN(command_binaryValuesRepliesByTokenErrorsAndNoReplyWanted);
    NWS_RUN(auth_rightPasswordComesUpWithOrWithoutUsernameAndSelect);
    NWS_RUN(auth_wrongPasswordOrBadDbReportsDownWithTheReason);
    NWS_RUN(publish_overThePendingCapIsDroppedWithEnobufs);
    NWS_RUN(tls_roundTripAndVerification);
    NWS_RUN(stop_returnsPromptlyWhileUpAndAnswersPendingNumsub);
    NWS_RUN(stop_returnsPromptlyWhileWaitingToReconnect);
    NWS_RUN(connectTimeout_silentServerIsReportedDownAndStopIsPromptMidAttempt);
    NWS_RUN(start_rejectsMissingHostAndUnreadableTlsFiles);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp_dir);
    return nws_test_summary("redis link");
}
