/* list.h — one intrusive doubly linked list (circular, with a head node), as
 * libuv's queue.h: O(1) insert and remove, no allocation.  Embed a `list_node` in
 * the element and get back to it with LIST_ENTRY. */
#ifndef TOCSIN_LIST_H
#define TOCSIN_LIST_H

#include <stddef.h>

typedef struct list_node {
    struct list_node *next, *prev;
} list_node;

#define LIST_ENTRY(ptr, type, field) ((type *)((char *)(ptr)-offsetof(type, field)))
/* for (list_node *q = LIST_FIRST(h); q != h; q = q->next): removal of q is not
 * safe inside; LIST_FOREACH_SAFE keeps the next node first. */
#define LIST_FOREACH(q, h) for ((q) = (h)->next; (q) != (h); (q) = (q)->next)
#define LIST_FOREACH_SAFE(q, n, h)                                                                 \
    for ((q) = (h)->next, (n) = (q)->next; (q) != (h); (q) = (n), (n) = (q)->next)

static inline void list_init(list_node *h)
{
    h->next = h->prev = h;
}

static inline int list_empty(const list_node *h)
{
    return h->next == h;
}

/* A node not in any list (initialised and removed nodes point at themselves). */
static inline int list_linked(const list_node *n)
{
    return n->next != n;
}

static inline void list_push_back(list_node *h, list_node *n)
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}

static inline void list_push_front(list_node *h, list_node *n)
{
    n->next = h->next;
    n->prev = h;
    h->next->prev = n;
    h->next = n;
}

static inline void list_remove(list_node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}

/* The first node, or NULL when empty. */
static inline list_node *list_first(const list_node *h)
{
    return h->next == h ? NULL : h->next;
}

#endif
