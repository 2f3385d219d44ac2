/*
 * chanset.c — the subscription set: a chained hash set of channel names (byte strings,
 * NUL allowed). A node holds its name inline, so one channel is one allocation.
 *
 * The set is what the link renews after every reconnection, and what it checks before it
 * delivers a message, so that nothing of a channel reaches the application after it was
 * unsubscribed even if Redis sent it before it saw the UNSUBSCRIBE.
 */
#include "redis_internal.h"   /* first: it sets _GNU_SOURCE */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_name(const char *name, size_t len) {
    uint64_t h = 1469598103934665603ull;   /* FNV-1a: channel names are short */
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)name[i];
        h *= 1099511628211ull;
    }
    return h;
}

static nws__chan **find_slot(const nws__chanset *s, const char *name, size_t len, uint64_t h) {
    nws__chan **p = &s->buckets[h & (s->nbuckets - 1)];
    while (*p != NULL) {
        nws__chan *c = *p;
        if (c->hash == h && c->len == len && memcmp(c->name, name, len) == 0) return p;
        p = &c->next;
    }
    return p;
}

static int grow(nws__chanset *s) {
    size_t n = s->nbuckets ? s->nbuckets * 2 : 16;
    nws__chan **b = calloc(n, sizeof *b);
    if (b == NULL) return -ENOMEM;
    for (size_t i = 0; i < s->nbuckets; i++) {
        nws__chan *c = s->buckets[i];
        while (c != NULL) {
            nws__chan *next = c->next;
            c->next = b[c->hash & (n - 1)];
            b[c->hash & (n - 1)] = c;
            c = next;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
    return 0;
}

int nws__chanset_add(nws__chanset *s, const char *name, size_t len) {
    if (s->count >= s->nbuckets && grow(s) != 0) return -ENOMEM;
    uint64_t h = hash_name(name, len);
    nws__chan **slot = find_slot(s, name, len, h);
    if (*slot != NULL) return 0;
    nws__chan *c = malloc(sizeof *c + len + 1);
    if (c == NULL) return -ENOMEM;
    c->next = NULL;
    c->hash = h;
    c->len = len;
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    *slot = c;
    s->count++;
    return 1;
}

int nws__chanset_remove(nws__chanset *s, const char *name, size_t len) {
    if (s->nbuckets == 0) return 0;
    nws__chan **slot = find_slot(s, name, len, hash_name(name, len));
    nws__chan *c = *slot;
    if (c == NULL) return 0;
    *slot = c->next;
    free(c);
    s->count--;
    return 1;
}

int nws__chanset_has(const nws__chanset *s, const char *name, size_t len) {
    if (s->nbuckets == 0) return 0;
    return *find_slot(s, name, len, hash_name(name, len)) != NULL;
}

int nws__chanset_each(const nws__chanset *s, int (*fn)(void *arg, const nws__chan *c), void *arg) {
    for (size_t i = 0; i < s->nbuckets; i++)
        for (const nws__chan *c = s->buckets[i]; c != NULL; c = c->next) {
            int r = fn(arg, c);
            if (r != 0) return r;
        }
    return 0;
}

void nws__chanset_free(nws__chanset *s) {
    for (size_t i = 0; i < s->nbuckets; i++) {
        nws__chan *c = s->buckets[i];
        while (c != NULL) {
            nws__chan *next = c->next;
            free(c);
            c = next;
        }
    }
    free(s->buckets);
    s->buckets = NULL;
    s->nbuckets = s->count = 0;
}
