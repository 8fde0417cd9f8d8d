/* Alloc: split a pool's calls among its campaigns by priority (1 highest; equal ones take turns). */
#include "alloc.h"

/* Whether item i can take another call. */
static int alloc_has_room(const struct alloc_item *it)
{
    return it->capacity < 0 || it->share < it->capacity;
}

/* Priority first, then round-robin within the priority. */
int alloc_split(struct alloc_item *items, int n, int calls, unsigned *cursor)
{
    int given = 0;

    for (int i = 0; i < n; i++)
        items[i].share = 0;
    for (int prio = 1; prio <= 5 && given < calls; prio++) {
        int members = 0;
        for (int i = 0; i < n; i++)
            members += items[i].priority == prio;
        if (members == 0)
            continue;
        /* Hand out one call per turn until this priority is full or the calls run out. */
        for (;;) {
            int progressed = 0;
            unsigned start = *cursor;
            for (int k = 0; k < n && given < calls; k++) {
                int i = (int)((start + 1u + (unsigned)k) % (unsigned)n);
                if (items[i].priority != prio || !alloc_has_room(&items[i]))
                    continue;
                items[i].share++;
                given++;
                progressed = 1;
                *cursor = (unsigned)i;
            }
            if (!progressed || given >= calls)
                break;
        }
    }
    return given;
}
