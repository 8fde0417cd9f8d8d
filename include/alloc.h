/* Alloc: split a pool's calls among its campaigns by priority (1 highest; equal ones take turns). */
#ifndef DIALERD_ALLOC_H
#define DIALERD_ALLOC_H

struct alloc_item {
    int priority;           /* 1..5, 1 highest */
    int capacity;           /* most calls this campaign can take now; < 0 = no known limit */
    int share;              /* out: calls given to it */
};

/*
 * Gives `calls` out: every call goes to the highest priority that still has capacity; within
 * one priority, one call at a time in turn, starting after *cursor (kept by the caller between
 * rounds so that no equal campaign is favoured). Returns the calls given out (≤ calls).
 */
int alloc_split(struct alloc_item *items, int n, int calls, unsigned *cursor);

#endif
