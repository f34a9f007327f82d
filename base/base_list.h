/*
 * base_list.h - an intrusive, circular, doubly-linked list. A node is
 * embedded in the caller's struct; base_list_entry() gets the struct back.
 *
 * A zeroed node (calloc) counts as not linked, so removing it is harmless:
 * structs can be freed through one path whether or not they were queued.
 */
#ifndef BASE_LIST_H
#define BASE_LIST_H

#include <stddef.h>

typedef struct base_list {
    struct base_list *prev, *next;
} base_list_t;

#define base_list_entry(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* A list head (or a node) that links to itself: empty. */
static inline void base_list_init(base_list_t *head)
{
    head->prev = head->next = head;
}

static inline int base_list_empty(const base_list_t *head)
{
    return head->next == head;
}

/* Whether node is in a list (a zeroed or removed node is not). */
static inline int base_list_linked(const base_list_t *node)
{
    return node->next && node->next != node;
}

static inline void base_list_insert_before(base_list_t *pos, base_list_t *node)
{
    node->prev = pos->prev;
    node->next = pos;
    pos->prev->next = node;
    pos->prev = node;
}

static inline void base_list_push_back(base_list_t *head, base_list_t *node)
{
    base_list_insert_before(head, node);
}

static inline void base_list_push_front(base_list_t *head, base_list_t *node)
{
    base_list_insert_before(head->next, node);
}

/* Unlinks node (nothing happens when it is not linked); it is then
 * self-linked, so removing it again is harmless too. */
static inline void base_list_remove(base_list_t *node)
{
    if (!base_list_linked(node)) return;
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = node->next = node;
}

/* The first node, or NULL when the list is empty. */
static inline base_list_t *base_list_first(const base_list_t *head)
{
    return base_list_empty(head) ? NULL : head->next;
}

/* Walks every node; `next` keeps the walk valid when `it` is removed. */
#define BASE_LIST_FOREACH(it, next, head)                                                          \
    for ((it) = (head)->next, (next) = (it)->next; (it) != (head);                                 \
         (it) = (next), (next) = (it)->next)

#endif
