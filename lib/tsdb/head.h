/*
 * Internal: the in-memory head (series, chunks, postings, interned strings).
 * Not installed.
 *
 * Locking (see docs/tsdb.md "Concurrency"):
 *  - h->gc (gclock): read-held by an appender from its first append until
 *    commit/rollback ends, and by a querier for its lifetime; write-held only
 *    by head truncation (tsdb_head_truncate), which frees chunks and series. So a
 *    series pointer obtained under the read lock stays valid while held.
 *    A waiting writer stops new readers (no starvation by steady appends),
 *    except threads already holding it for reading.
 *  - h->stripes[hash & mask].mu: the by-hash map of that stripe AND the
 *    chunk/sample state of every series whose hash falls in it. Appenders on
 *    different series mostly take different stripes.
 *  - h->idx_lock (rwlock): postings + interned strings; write-held briefly
 *    when a series is created or deleted, read-held by lookups.
 *  - h->iso (rwlock, writer-preferring): read-held while a commit applies
 *    its samples, write-held while a querier registers its snapshot
 *    (tsdb_head_snapshot_new), so a
 *    querier sees every commit before its creation and none after: commits
 *    numbered >= the snapshot's seq save the state a series had before they
 *    first change it into the snapshot (copy on write, see tsdb_head_cow).
 * Lock order: gc -> iso -> stripe -> idx_lock, and stripe -> snapshot mu;
 * sorted_mu (the broad-select cache) is taken alone.
 * The id table (by ref) is read without locks (atomics); entries change only
 * under a stripe lock (insert) or gc write lock (delete).
 */
#ifndef AION_TSDB_HEAD_H
#define AION_TSDB_HEAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <tsdb/tsdb.h>

#include "chunk_xor.h"

#define HEAD_SAMPLES_PER_CHUNK 120
#define HEAD_STRIPES 4096
#define HEAD_ID_SEG_BITS 16
#define HEAD_ID_SEGS (1u << 16) /* ids < 2^32 */

/* An interned string: one per distinct label name/value in the head,
 * refcounted by the series that use it. NUL-terminated. */
typedef struct istr {
    uint32_t refs;
    uint32_t len;
    uint32_t hash;
    char s[];
} istr;

typedef struct intern_tab {
    istr **slots;
    size_t cap, n;
} intern_tab;

/* Caller holds idx_lock for writing. Returns the string with one more ref, or NULL (ENOMEM). */
istr *tsdb_intern_get(intern_tab *t, const char *s, size_t len);
/* Drops one ref; frees at zero. Caller holds idx_lock for writing. */
void tsdb_intern_put(intern_tab *t, istr *s);
void tsdb_intern_free(intern_tab *t);
uint32_t tsdb_intern_hash(const char *s, size_t len);

/* A sorted list of series ids; the one-element case is stored inline. */
typedef struct plist {
    uint32_t n, cap;
    union {
        uint64_t one;
        uint64_t *ids;
    } u;
} plist;

static inline const uint64_t *plist_ids(const plist *p) { return p->cap <= 1 ? &p->u.one : p->u.ids; }

typedef struct pval {
    istr *val;          /* borrowed from the series that hold it */
    plist pl;
} pval;

typedef struct pname {
    istr *name;
    pval *vals;         /* open addressing by val->hash, linear probing */
    size_t cap, n;
} pname;

typedef struct postings {
    pname **names;      /* open addressing by name->hash */
    size_t cap, n;
    plist all;
} postings;

int tsdb_postings_add(postings *p, istr *name, istr *val, uint64_t id);
void tsdb_postings_del_batch(postings *p, istr *name, istr *val, const uint64_t *dead, size_t ndead);
int tsdb_postings_add_all(postings *p, uint64_t id);
void tsdb_postings_del_all_batch(postings *p, const uint64_t *dead, size_t ndead);
void tsdb_postings_free(postings *p);
const pname *tsdb_postings_name(const postings *p, const char *name, size_t len);
const plist *tsdb_postings_get(const pname *pn, const char *val, size_t len);

/* Sorted-id set operations on heap arrays (used by matcher evaluation). */
typedef struct idvec {
    uint64_t *v;
    size_t n, cap;
} idvec;
int tsdb_idvec_push(idvec *a, uint64_t id);
void tsdb_idvec_free(idvec *a);
/* Postings for matchers, as Prometheus' PostingsForMatchers: sorted ids of
 * series that match all. Caller holds idx_lock (read). */
int tsdb_postings_for_matchers(const postings *p, const labels_matcher *const *ms, size_t nm, idvec *out);

/* One closed, immutable chunk. data is freed only under gc write lock. */
typedef struct head_chunk {
    int64_t mint, maxt;
    uint8_t *data;
    uint32_t len;
} head_chunk;

typedef struct ooo_sample {
    int64_t t;
    uint64_t v;
} ooo_sample;

typedef struct ooo_buf {
    uint32_t n, cap;
    ooo_sample s[];
} ooo_buf;

typedef struct head_series {
    uint64_t ref;
    uint64_t hash;
    struct head_series *hnext;  /* stripe hash chain */
    head_chunk *chunks;         /* closed chunks, sorted by mint */
    uint32_t nchunks, capchunks;
    tsdb_xor_enc enc;           /* open chunk */
    int64_t open_mint;
    int64_t maxt;               /* newest in-order sample; INT64_MIN = none */
    ooo_buf *ooo;               /* out-of-order samples, sorted; NULL = none */
    uint16_t nlabels;
    _Atomic uint8_t logged;     /* series record written to the WAL */
    uint64_t cseq;              /* commit that last changed it (0: replay) */
    istr *lbl[];                /* name0, value0, name1, value1, ... */
} head_series;

/* One cache line each (the array is 64-byte aligned): no false sharing. */
typedef struct head_stripe {
    pthread_mutex_t mu;
    head_series **buckets;
    uint32_t nbuckets, n;
} __attribute__((aligned(64))) head_stripe;

struct head_mark;
/* A querier's view: commits with seq >= this seq are invisible to it. */
typedef struct head_snapshot {
    uint64_t seq;
    int64_t mint, maxt;
    struct head_snapshot *next;      /* in head.snaps; changed under iso (write) */
    pthread_mutex_t mu;              /* saved marks; taken under a stripe lock */
    struct head_mark *saved;         /* open addressing by series ref */
    size_t cap, n;
} head_snapshot;

typedef struct head_sorted {
    uint64_t ref;
    head_series *s;
} head_sorted;

/* gclock.c: writer-preferring rwlock whose read side is reentrant per thread. */
typedef struct gclock {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int readers, writer, waiting;
} gclock;
void tsdb_gclock_init(gclock *l);
void tsdb_gclock_destroy(gclock *l);
void tsdb_gclock_rdlock(gclock *l);
void tsdb_gclock_rdunlock(gclock *l);
void tsdb_gclock_wrlock(gclock *l);
void tsdb_gclock_wrunlock(gclock *l);

typedef struct head {
    gclock gc;
    pthread_rwlock_t iso;
    pthread_rwlock_t idx_lock;
    intern_tab strs;
    postings post;
    head_stripe *stripes;
    _Atomic(head_series **) segs[HEAD_ID_SEGS];
    _Atomic uint64_t commit_seq;     /* next commit number */
    head_snapshot *snaps;            /* active querier snapshots (iso) */
    _Atomic uint64_t next_id;
    _Atomic size_t nseries;
    _Atomic size_t nchunks;
    _Atomic int64_t bytes;
    _Atomic int64_t mint, maxt;      /* INT64_MAX/INT64_MIN when empty */
    _Atomic int64_t min_valid;       /* samples below are TOO_OLD */
    _Atomic uint64_t samples;
    /* all series sorted by labels, reused by broad selects while no series
     * was created or deleted (series_gen unchanged); guarded by sorted_mu */
    pthread_mutex_t sorted_mu;
    struct head_sorted *sorted;     /* (ref, series): scanning needs no series deref */
    size_t nsorted;
    uint64_t sorted_gen;
    _Atomic uint64_t series_gen;     /* bumped before a series is indexed and when series are deleted */
    int64_t chunk_range;             /* block duration: chunks never span a boundary */
    int64_t ooo_window;
    size_t max_series, max_bytes;
} head;

int tsdb_head_init(head *h, int64_t chunk_range, int64_t ooo_window, size_t max_series, size_t max_bytes);
void tsdb_head_destroy(head *h);

static inline head_stripe *head_stripe_of(head *h, uint64_t hash)
{
    return &h->stripes[hash & (HEAD_STRIPES - 1)];
}

/* Series by ref without locks; NULL if unknown. Valid while gc is read-held. */
head_series *tsdb_head_by_ref(head *h, uint64_t ref);

/* Finds or creates the series (labels sorted). *created tells which.
 * want_ref != 0 (WAL replay) creates it with that id. Returns 0,
 * TSDB_ERR_LIMIT, -ENOMEM or -EINVAL. Caller holds gc (read). */
int tsdb_head_get_or_create(head *h, const labels_label *ls, size_t n, uint64_t want_ref,
                       head_series **out, bool *created);

/* Checks/applies a sample; caller holds the series' stripe lock.
 * Returns 0 or TSDB_ERR_OUT_OF_ORDER/DUPLICATE/TOO_OLD, -ENOMEM. */
int tsdb_head_series_check(head *h, const head_series *s, int64_t t, double v);
int tsdb_head_series_append(head *h, head_series *s, int64_t t, double v);

/* Fills labels (array of 2*nlabels views) from a series. */
void tsdb_head_series_labels(const head_series *s, labels_label *out);
int tsdb_head_series_cmp(const head_series *a, const head_series *b);

/* Head time range update after a commit. */
void tsdb_head_note_range(head *h, int64_t mint, int64_t maxt);

/* Drops data older than mint, deletes empty series. Takes gc for writing. */
void tsdb_head_truncate(head *h, int64_t mint);

/* A querier's view of one series: what was committed when it was created. Closed chunks stay put (only gc frees them); the open chunk
 * only grows, so a prefix of open_len bytes with open_count samples is what
 * was visible; OOO samples are copied since inserts move them. */
typedef struct head_mark {
    head_series *s;
    uint32_t nchunks;
    uint32_t open_len;
    uint16_t open_count;
    int64_t open_mint, open_maxt;
    uint8_t *ooo_chunk;     /* XOR chunk of the OOO samples, or NULL; owned unless borrowed */
    bool borrowed;          /* copy of a snapshot's saved mark: the snapshot owns ooo_chunk */
    uint32_t ooo_len;
    int64_t ooo_mint, ooo_maxt;
} head_mark;
/* Caller holds the stripe lock. */
int tsdb_head_mark_take(const head_series *s, int64_t mint, int64_t maxt, head_mark *m);
/* Builds the chunk list of a mark for [mint, maxt]: closed chunk data is
 * borrowed (valid while gc is read-held), the open chunk prefix is copied into
 * *scratch (grown as needed, caller frees). Caller holds the stripe lock.
 * Returns the number of chunks (0 = nothing in range) or -ENOMEM. */
int tsdb_head_mark_chunks(const head_mark *m, int64_t mint, int64_t maxt, tsdb_chunk **chunks,
                     size_t *cap, uint8_t **scratch, size_t *scratch_cap);

/* Snapshots (head_select.c). new/free take iso for writing. */
head_snapshot *tsdb_head_snapshot_new(head *h, int64_t mint, int64_t maxt);
void tsdb_head_snapshot_free(head *h, head_snapshot *sn);
/* Commit `seq` is about to change s (stripe lock held, iso read-held):
 * saves s's current state into every snapshot that must not see the change. */
int tsdb_head_cow(head *h, head_series *s, uint64_t seq);

/* All live series (pointers valid while gc is read-held), sorted by labels. */
int tsdb_head_all_series_sorted(head *h, head_series ***out, size_t *n);

#endif
