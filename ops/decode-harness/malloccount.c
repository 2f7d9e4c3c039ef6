// Counts allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc) for the decode harness; prints the total at exit.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
static atomic_long count;
static void *(*real_malloc)(size_t);
void *malloc(size_t n) {
    if (!real_malloc) real_malloc = dlsym(RTLD_NEXT, "malloc");
    atomic_fetch_add(&count, 1);
    return real_malloc(n);
}
__attribute__((destructor)) static void report(void) { fprintf(stderr, "mallocs: %ld\n", (long)count); }
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_pm)(void **, size_t, size_t);
static void *(*real_aa)(size_t, size_t);
static char bootstrap[4096]; static int used;
void *calloc(size_t a, size_t b) {
    if (!real_calloc) { if (used) return NULL; used = 1; real_calloc = dlsym(RTLD_NEXT, "calloc"); if (!real_calloc) return bootstrap; }
    atomic_fetch_add(&count, 1); return real_calloc(a, b);
}
void *realloc(void *p, size_t n) { if (!real_realloc) real_realloc = dlsym(RTLD_NEXT, "realloc"); atomic_fetch_add(&count, 1); return real_realloc(p, n); }
int posix_memalign(void **p, size_t a, size_t n) { if (!real_pm) real_pm = dlsym(RTLD_NEXT, "posix_memalign"); atomic_fetch_add(&count, 1); return real_pm(p, a, n); }
void *aligned_alloc(size_t a, size_t n) { if (!real_aa) real_aa = dlsym(RTLD_NEXT, "aligned_alloc"); atomic_fetch_add(&count, 1); return real_aa(a, n); }
