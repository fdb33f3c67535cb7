#include "spot/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX
#define PENDING (UINT32_MAX - 1) /* item written, its index entry not linked yet */
#define MAX_CLASSES 64
#define MIN_SLOT 64u
#define EVICT_SAMPLES 5
#define REBALANCE_SAMPLES 3
#define MIN_BUCKETS 1024u
/*
 * Item header fields that link slots are stored XOR this mark. A page the kernel dropped (reclaimable mode) reads
 * back as zeros, and a zero field decodes to DROPPED, which no entry or slot number can be. Headers are 16-byte
 * aligned (slot sizes are multiples of 16), so a header never straddles two pages.
 */
#define HDR_MARK 0xfffffffdu
#define DROPPED HDR_MARK

/* At the start of every item slot, inside the chunk. */
struct item_hdr {
	uint32_t entry;         /* ^ HDR_MARK: index entry owning the slot, NONE when free, PENDING while written */
	uint32_t klen, vlen;
	uint32_t next_free;     /* ^ HDR_MARK: free slot list, when entry == NONE */
};
_Static_assert(sizeof(struct item_hdr) == STORE_ITEM_HDR, "item header size");
_Static_assert(STORE_MAX_KEY < (1u << 24), "a key length fits the entry's klen");

struct entry {
	uint64_t hash;
	uint64_t gen;           /* generation of the chunk when the item was written */
	uint64_t expire_at;     /* 0: none */
	uint64_t lru;           /* last access, ms */
	uint32_t chunk;         /* chunk table slot; NONE when the entry is free */
	uint32_t slot;
	uint32_t next;          /* hash chain, or free list */
	uint32_t klen : 24;     /* at most STORE_MAX_KEY */
	uint32_t type : 8;      /* enum store_type */
	uint64_t check;         /* reclaimable mode: value_check() of the value, verified on every read */
};

enum chunk_state { CH_EMPTY = 0, CH_FREE, CH_CLASS, CH_ODD };

struct chunk {
	char *base;
	size_t size;
	uint64_t gen;           /* bumped when the chunk is taken back: entries with an older one are stale */
	uint64_t touched;       /* last access to any of its items, ms */
	uint64_t used_bytes;
	uint32_t used, nexp;    /* items, and items with an expiry */
	uint64_t exp_sum;       /* sum of its items' expiry times in seconds (avg_ttl); wraps consistently */
	uint32_t nslots, bump, free_head;
	uint32_t list_pos;      /* position in the list its state keeps it in */
	uint32_t avail_pos;     /* position in its class's list of chunks with a free slot, or NONE */
	bool dirty;             /* reclaimable mode: written since the last re-free */
	int cls;
	enum chunk_state state;
};

struct vec {
	uint32_t *v;
	uint32_t n, cap;
};

struct cls {
	uint32_t slot_size;
	struct vec chunks;      /* every chunk of the class */
	struct vec avail;       /* those with a free slot */
};

struct store {
	size_t chunk_size;
	uint64_t max_keys;
	uint64_t seed;          /* of the hash: fixed for the store's life */
	uint64_t rng;           /* of the samplers */

	struct chunk *ch;
	uint32_t nch;           /* table slots ever used */
	struct vec empty, free_chunks, odd;
	struct cls cls[MAX_CLASSES];
	int ncls;

	struct entry *ent;
	uint32_t ent_cap, ent_used, ent_free;
	uint32_t *bucket;
	uint32_t nbuckets;      /* a power of two */
	uint32_t sweep_cursor;

	bool reclaimable;       /* the kernel may drop chunk pages: verify reads, report writes for re-freeing */
	uint32_t ndirty;        /* chunks written since the last re-free */
	char *scratch;          /* reclaimable mode: values are copied here, then verified */
	size_t scratch_cap;

	uint64_t capacity, used_bytes, keys, expires, evictions, losses, expired, dropped, refreed;
	uint64_t loss_bytes, dropped_bytes; /* the slot bytes of the keys counted in losses and dropped */
	uint64_t exp_sum;       /* sum over live keys with an expiry of expire_at / 1000 */
	uint64_t writes;        /* successful sets, deletes, expiry changes and flushes (store_writes) */
	uint64_t limit;         /* bytes of item slots at most (store_set_limit); 0: none */
	uint64_t refused;       /* writes refused by the limit */
	store_refill_fn refill; /* asked for a chunk before evicting (store_set_refill) */
	void *refill_arg;
};

static uint64_t rnd(struct store *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

/* A key's hash, seeded, 8 bytes at a time (the tail in at most two loads that overlap), then murmur3's finalizer:
 * every request hashes its key twice (the prefetch and the lookup). */
static uint64_t hash_key(const struct store *s, const void *key, size_t n)
{
	const unsigned char *b = key;
	uint64_t h = s->seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15u), w;
	uint32_t lo, hi;

	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdu;
		h ^= h >> 32;
	}
	if (n >= 4) {
		memcpy(&lo, b, 4);
		memcpy(&hi, b + n - 4, 4);
		w = lo | (uint64_t)hi << 32;
	} else {
		w = n ? b[0] | (uint64_t)b[n / 2] << 8 | (uint64_t)b[n - 1] << 16 : 0;
	}
	h = (h ^ w ^ ((uint64_t)n << 56)) * 0xc4ceb9fe1a85ec53u;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	return h;
}

static int vec_reserve(struct vec *v, uint32_t n)
{
	uint32_t cap;
	uint32_t *nv;

	if (n <= v->cap)
		return 0;
	cap = v->cap ? v->cap : 8;
	while (cap < n)
		cap *= 2;
	nv = realloc(v->v, (size_t)cap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	v->v = nv;
	v->cap = cap;
	return 0;
}

/* Callers reserve first: pushing never fails. */
static uint32_t vec_push(struct vec *v, uint32_t x)
{
	v->v[v->n] = x;
	return v->n++;
}

/* Swap-removes position pos; the moved element's position field is fixed through pos_of. */
static void vec_remove(struct store *s, struct vec *v, uint32_t pos, bool avail)
{
	uint32_t last = v->v[--v->n];

	if (pos == v->n)
		return;
	v->v[pos] = last;
	if (avail)
		s->ch[last].avail_pos = pos;
	else
		s->ch[last].list_pos = pos;
}

static struct item_hdr *item_at(const struct store *s, const struct chunk *c, uint32_t slot)
{
	return (struct item_hdr *)(c->base + (size_t)slot * s->cls[c->cls].slot_size);
}

/* Reads are volatile: the kernel may zero a reclaimable page under us, and each field must be read once. */
static uint32_t hdr_entry(const struct item_hdr *h) { return *(const volatile uint32_t *)&h->entry ^ HDR_MARK; }
static uint32_t hdr_next(const struct item_hdr *h) { return *(const volatile uint32_t *)&h->next_free ^ HDR_MARK; }
static void hdr_set_entry(struct item_hdr *h, uint32_t e) { h->entry = e ^ HDR_MARK; }
static void hdr_set_next(struct item_hdr *h, uint32_t n) { h->next_free = n ^ HDR_MARK; }

/*
 * Remembers that a chunk was written, so that it is handed back to the kernel. Whole chunks go back: freeing part
 * of a 2 MiB huge page splits it (measured: a filled store kept under a tenth of its huge pages), while a whole
 * one stays huge and is dropped whole, which is how the store loses chunks anyway.
 */
static void mark_dirty(struct store *s, struct chunk *c)
{
	if (!s->reclaimable || c->dirty)
		return;
	c->dirty = true;
	s->ndirty++;
}

static void clear_dirty(struct store *s, struct chunk *c)
{
	if (c->dirty)
		s->ndirty--;
	c->dirty = false;
}

/* A check of a value and its length: a page dropped under the value changes it (unless the lost bytes were zeros
 * anyway, and then the value read is exact). Word at a time: it runs over every value read and written. */
static uint64_t value_check(const struct store *s, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = s->seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15u), w;

	for (; n >= 8; b += 8, n -= 8) {
		memcpy(&w, b, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdu;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, b, n);
	h = (h ^ w ^ ((uint64_t)n << 56)) * 0xc4ceb9fe1a85ec53u;
	return h ^ (h >> 29);
}

static bool entry_live(const struct store *s, const struct entry *e)
{
	return s->ch[e->chunk].gen == e->gen;
}

static int class_for(const struct store *s, size_t item)
{
	for (int i = 0; i < s->ncls; i++)
		if (s->cls[i].slot_size >= item)
			return i;
	return -1;
}

struct store *store_new(uint64_t max_keys, size_t chunk_size, uint64_t seed)
{
	struct store *s = calloc(1, sizeof(*s));
	uint32_t size = MIN_SLOT;

	if (!s)
		return NULL;
	s->chunk_size = chunk_size ? chunk_size : STORE_CHUNK_SIZE;
	s->max_keys = max_keys ? max_keys : STORE_DEFAULT_MAX_KEYS;
	if (s->max_keys > NONE - 2)
		s->max_keys = NONE - 2;
	s->seed = seed;
	s->rng = seed ? seed : 0x9e3779b97f4a7c15u;
	/* Classes grow by a quarter: at most ~20% of a slot is wasted, and the last class is a whole chunk. */
	while (size < s->chunk_size / 2 && s->ncls < MAX_CLASSES - 1) {
		s->cls[s->ncls++].slot_size = size;
		size = (uint32_t)((size + size / 4 + 15) & ~15u);
	}
	s->cls[s->ncls++].slot_size = (uint32_t)s->chunk_size;
	s->ent_free = NONE;
	s->nbuckets = MIN_BUCKETS;
	s->bucket = malloc(s->nbuckets * sizeof(*s->bucket));
	if (!s->bucket) {
		free(s);
		return NULL;
	}
	memset(s->bucket, 0xff, s->nbuckets * sizeof(*s->bucket));
	return s;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->ncls; i++) {
		free(s->cls[i].chunks.v);
		free(s->cls[i].avail.v);
	}
	free(s->empty.v);
	free(s->free_chunks.v);
	free(s->odd.v);
	free(s->ch);
	free(s->ent);
	free(s->bucket);
	free(s->scratch);
	free(s);
}

void store_set_reclaimable(struct store *s, bool on)
{
	s->reclaimable = on;
}

/* --- index --- */

static uint32_t *bucket_of(struct store *s, uint64_t hash) { return &s->bucket[hash & (s->nbuckets - 1)]; }

static void unlink_entry(struct store *s, uint32_t idx)
{
	uint32_t *link = bucket_of(s, s->ent[idx].hash);

	while (*link != idx)
		link = &s->ent[*link].next;
	*link = s->ent[idx].next;
	s->ent[idx].chunk = NONE;
	s->ent[idx].next = s->ent_free;
	s->ent_free = idx;
	s->ent_used--;
}

static void grow_buckets(struct store *s)
{
	uint32_t n = s->nbuckets * 2;
	uint32_t *nb;

	if (n < s->nbuckets)
		return;
	nb = malloc((size_t)n * sizeof(*nb));
	/* Without memory the chains just get longer: correct, only slower. */
	if (!nb)
		return;
	memset(nb, 0xff, (size_t)n * sizeof(*nb));
	for (uint32_t i = 0; i < s->ent_cap; i++) {
		struct entry *e = &s->ent[i];

		if (e->chunk == NONE)
			continue;
		e->next = nb[e->hash & (n - 1)];
		nb[e->hash & (n - 1)] = i;
	}
	free(s->bucket);
	s->bucket = nb;
	s->nbuckets = n;
	s->sweep_cursor = 0;
}

static int grow_entries(struct store *s)
{
	uint64_t cap = s->ent_cap ? (uint64_t)s->ent_cap * 2 : MIN_BUCKETS;
	struct entry *ne;

	if (cap > s->max_keys)
		cap = s->max_keys;
	if (cap <= s->ent_cap)
		return -ENOMEM;
	ne = realloc(s->ent, cap * sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	s->ent = ne;
	for (uint32_t i = (uint32_t)cap; i-- > s->ent_cap;) {
		ne[i].chunk = NONE;
		ne[i].next = s->ent_free;
		s->ent_free = i;
	}
	s->ent_cap = (uint32_t)cap;
	return 0;
}

/* --- slots and chunks --- */

/* Takes a class chunk out of its class's lists. */
static void leave_class(struct store *s, uint32_t ci)
{
	struct chunk *c = &s->ch[ci];
	struct cls *k = &s->cls[c->cls];

	if (c->avail_pos != NONE)
		vec_remove(s, &k->avail, c->avail_pos, true);
	vec_remove(s, &k->chunks, c->list_pos, false);
	c->cls = -1;
	c->avail_pos = NONE;
}

static void chunk_to_free_pool(struct store *s, uint32_t ci)
{
	leave_class(s, ci);
	s->ch[ci].state = CH_FREE;
	s->ch[ci].list_pos = vec_push(&s->free_chunks, ci);
}

/* Forgets every item of a class chunk at once, counting them in *lost and their slot bytes in *lost_bytes; the
 * caller moves its generation on. */
static void drop_items(struct store *s, struct chunk *c, uint64_t *lost, uint64_t *lost_bytes)
{
	*lost += c->used;
	*lost_bytes += c->used_bytes;
	s->keys -= c->used;
	s->expires -= c->nexp;
	s->exp_sum -= c->exp_sum;
	s->used_bytes -= c->used_bytes;
	c->used = c->nexp = 0;
	c->exp_sum = 0;
	c->used_bytes = 0;
}

/*
 * The kernel dropped a page of this class chunk (reclaimable mode): which items it held is not known for sure, so
 * all of them become misses at once, in O(1) as in a take, and the chunk itself goes back to the free pool.
 */
static void lose_chunk(struct store *s, uint32_t ci)
{
	drop_items(s, &s->ch[ci], &s->dropped, &s->dropped_bytes);
	s->ch[ci].gen++;
	chunk_to_free_pool(s, ci);
}

static void free_slot(struct store *s, uint32_t ci, uint32_t slot)
{
	struct chunk *c = &s->ch[ci];
	struct item_hdr *h = item_at(s, c, slot);
	uint32_t size = s->cls[c->cls].slot_size;

	hdr_set_entry(h, NONE);
	hdr_set_next(h, c->free_head);
	mark_dirty(s, c);
	c->free_head = slot;
	c->used--;
	c->used_bytes -= size;
	s->used_bytes -= size;
	if (c->used == 0) {
		chunk_to_free_pool(s, ci);
		return;
	}
	if (c->avail_pos == NONE)
		c->avail_pos = vec_push(&s->cls[c->cls].avail, ci);
}

/* Sets a live entry's expiry, keeping the counts and sums of its chunk and of the store. */
static void set_expiry(struct store *s, struct entry *e, uint64_t expire_at)
{
	struct chunk *c = &s->ch[e->chunk];

	if (!e->expire_at != !expire_at) {
		int d = expire_at ? 1 : -1;

		s->expires += (uint64_t)(int64_t)d;
		c->nexp += (uint32_t)d;
	}
	s->exp_sum += expire_at / 1000 - e->expire_at / 1000;
	c->exp_sum += expire_at / 1000 - e->expire_at / 1000;
	e->expire_at = expire_at;
}

/* Removes a live key: its slot and its entry. */
static void remove_key(struct store *s, uint32_t idx)
{
	struct entry *e = &s->ent[idx];

	set_expiry(s, e, 0);
	free_slot(s, e->chunk, e->slot);
	s->keys--;
	unlink_entry(s, idx);
}

static int assign_chunk(struct store *s, uint32_t ci, int cls)
{
	struct chunk *c = &s->ch[ci];
	struct cls *k = &s->cls[cls];

	if (vec_reserve(&k->chunks, k->chunks.n + 1) < 0 || vec_reserve(&k->avail, k->chunks.n + 1) < 0)
		return -ENOMEM;
	vec_remove(s, &s->free_chunks, c->list_pos, false);
	c->state = CH_CLASS;
	c->cls = cls;
	c->nslots = (uint32_t)(s->chunk_size / k->slot_size);
	c->bump = 0;
	c->free_head = NONE;
	c->used = c->nexp = 0;
	c->exp_sum = 0;
	c->used_bytes = 0;
	c->list_pos = vec_push(&k->chunks, ci);
	c->avail_pos = vec_push(&k->avail, ci);
	return 0;
}

/*
 * The live entry owning a slot; NONE when the slot is free; DROPPED when its header cannot be trusted (its page was
 * dropped by the kernel, so it reads as zeros or names an entry that does not point back here).
 */
static uint32_t slot_owner(const struct store *s, uint32_t ci, uint32_t slot)
{
	uint32_t e = hdr_entry(item_at(s, &s->ch[ci], slot));

	if (e == NONE || e == PENDING)
		return NONE;
	if (e >= s->ent_cap || s->ent[e].chunk != ci || s->ent[e].slot != slot || !entry_live(s, &s->ent[e]))
		return DROPPED;
	return e;
}

static void evict_chunk(struct store *s, uint32_t ci)
{
	struct chunk *c = &s->ch[ci];
	uint32_t bump = c->bump;

	/* The last removal moves the chunk to the free pool; stop looking at it then. */
	for (uint32_t i = 0; i < bump && c->state == CH_CLASS; i++) {
		uint32_t e = slot_owner(s, ci, i);

		if (e == DROPPED) {
			lose_chunk(s, ci);
			return;
		}
		if (e == NONE)
			continue;
		remove_key(s, e);
		s->evictions++;
	}
}

/* Samples items of class cls and returns the least recently used one's entry, or NONE. */
static uint32_t sample_class_victim(struct store *s, int cls)
{
	struct cls *k = &s->cls[cls];
	uint32_t best = NONE;

	if (k->chunks.n == 0)
		return NONE;
	for (int tries = 0, found = 0; tries < EVICT_SAMPLES * 4 && found < EVICT_SAMPLES; tries++) {
		uint32_t ci = k->chunks.v[rnd(s) % k->chunks.n], e;

		if (s->ch[ci].bump == 0)
			continue;
		e = slot_owner(s, ci, (uint32_t)(rnd(s) % s->ch[ci].bump));
		if (e == NONE || e == DROPPED)
			continue;
		found++;
		if (best == NONE || s->ent[e].lru < s->ent[best].lru)
			best = e;
	}
	return best;
}

/* Samples chunks of other classes and returns the coldest one, or NONE. */
static uint32_t sample_cold_chunk(struct store *s, int cls)
{
	uint32_t best = NONE;

	if (s->nch == 0)
		return NONE;
	for (int i = 0; i < REBALANCE_SAMPLES * 4; i++) {
		uint32_t ci = (uint32_t)(rnd(s) % s->nch);
		struct chunk *c = &s->ch[ci];

		if (c->state != CH_CLASS || c->cls == cls)
			continue;
		if (best == NONE || c->touched < s->ch[best].touched)
			best = ci;
	}
	/* Sampling can miss when most table slots are empty or of this class: then look at every chunk, which only
	 * happens when the class has nothing left to evict on its own. */
	for (uint32_t ci = 0; best == NONE && s->cls[cls].chunks.n == 0 && ci < s->nch; ci++)
		if (s->ch[ci].state == CH_CLASS && s->ch[ci].cls != cls)
			best = ci;
	return best;
}

/* Frees room in class cls: evicts the sampled LRU item of the class, or a whole colder chunk of another class
 * (which then moves to the class: memory follows demand between size classes). */
static int make_room(struct store *s, int cls)
{
	uint32_t victim = sample_class_victim(s, cls);
	uint32_t cold = sample_cold_chunk(s, cls);

	if (cold != NONE && (victim == NONE || s->ch[cold].touched < s->ent[victim].lru)) {
		evict_chunk(s, cold);
		return 0;
	}
	if (victim == NONE)
		return -ENOMEM;
	remove_key(s, victim);
	s->evictions++;
	return 0;
}

/* Pops the head of a chunk's free slot list; false when the list is broken (the kernel dropped its page). */
static bool pop_free(const struct store *s, struct chunk *c)
{
	const struct item_hdr *h = item_at(s, c, c->free_head);
	uint32_t next = hdr_next(h);

	if (hdr_entry(h) != NONE || (next != NONE && next >= c->bump))
		return false;
	c->free_head = next;
	return true;
}

static int alloc_slot(struct store *s, int cls, uint32_t *ci_out, uint32_t *slot_out)
{
	struct cls *k = &s->cls[cls];
	struct chunk *c;
	uint32_t ci, slot;

	bool refilled = false;

	if (s->limit && s->used_bytes + k->slot_size > s->limit) {
		s->refused++;
		return -ENOMEM;
	}
	for (int rooms = 0;;) {
		int err;

		if (k->avail.n) {
			ci = k->avail.v[k->avail.n - 1];
			c = &s->ch[ci];
			slot = c->free_head;
			if (slot == NONE) {
				slot = c->bump++;
				break;
			}
			if (pop_free(s, c))
				break;
			/* Back to the free pool, and from there to this class again, fresh. */
			lose_chunk(s, ci);
			continue;
		}
		if (s->free_chunks.n) {
			err = assign_chunk(s, s->free_chunks.v[s->free_chunks.n - 1], cls);
			if (err < 0)
				return err;
			continue;
		}
		/* Memory nobody uses comes before evicting: asked once per slot, it adds at most a chunk. */
		if (s->refill && !refilled) {
			refilled = true;
			if (s->refill(s->refill_arg, s) == 0)
				continue;
		}
		if (rooms++ == 64)
			return -ENOMEM;
		err = make_room(s, cls);
		if (err < 0)
			return err;
	}
	if (c->free_head == NONE && c->bump == c->nslots) {
		vec_remove(s, &k->avail, c->avail_pos, true);
		c->avail_pos = NONE;
	}
	c->used++;
	c->used_bytes += k->slot_size;
	s->used_bytes += k->slot_size;
	*ci_out = ci;
	*slot_out = slot;
	return 0;
}

/* Makes sure an index entry can be taken without allocating or evicting later. */
static int reserve_entry(struct store *s)
{
	uint32_t best = NONE;

	if (s->ent_used + 1 > s->nbuckets)
		grow_buckets(s);
	if (s->ent_free != NONE || grow_entries(s) == 0)
		return 0;
	for (int tries = 0, found = 0; tries < EVICT_SAMPLES * 8 && found < EVICT_SAMPLES; tries++) {
		uint32_t i = (uint32_t)(rnd(s) % s->ent_cap);
		struct entry *e = &s->ent[i];

		if (e->chunk == NONE)
			continue;
		if (!entry_live(s, e)) {
			unlink_entry(s, i);
			return 0;
		}
		found++;
		if (best == NONE || e->lru < s->ent[best].lru)
			best = i;
	}
	if (best == NONE)
		return -ENOMEM;
	remove_key(s, best);
	s->evictions++;
	return 0;
}

/* Finds a key's live entry, reaping stale entries met on the way and the key itself if it expired. */
static uint32_t lookup(struct store *s, const void *key, size_t klen, uint64_t hash, uint64_t now)
{
	uint32_t *link = bucket_of(s, hash);

	while (*link != NONE) {
		uint32_t idx = *link;
		struct entry *e = &s->ent[idx];
		struct item_hdr *h;

		if (!entry_live(s, e)) {
			unlink_entry(s, idx);
			continue;
		}
		link = &e->next;
		if (e->hash != hash || e->klen != klen)
			continue;
		h = item_at(s, &s->ch[e->chunk], e->slot);
		if (hdr_entry(h) != idx || h->klen != klen || memcmp(h + 1, key, klen) != 0) {
			/* Same 64-bit hash and length yet another key: a collision, or in reclaimable mode far more likely a
			 * page of the item that the kernel dropped. Then the chunk is lost and the walk starts over (this
			 * entry is stale now and will be reaped). */
			if (s->reclaimable) {
				lose_chunk(s, e->chunk);
				link = bucket_of(s, hash);
			}
			continue;
		}
		if (e->expire_at && e->expire_at <= now) {
			remove_key(s, idx);
			s->expired++;
			return NONE;
		}
		return idx;
	}
	return NONE;
}

/* How many bytes of an item store_prefetch loads: its header, the key and the start of the value; the copy of a
 * longer value streams, and the hardware prefetcher follows it. */
#define PREFETCH_ITEM_BYTES 256u

void store_prefetch(const struct store *s, const struct store_key *keys, size_t n)
{
	uint64_t hash[STORE_PREFETCH_MAX];
	uint32_t idx[STORE_PREFETCH_MAX];

	if (n > STORE_PREFETCH_MAX)
		n = STORE_PREFETCH_MAX;
	for (size_t i = 0; i < n; i++) {
		hash[i] = hash_key(s, keys[i].p, keys[i].n);
		__builtin_prefetch(&s->bucket[hash[i] & (s->nbuckets - 1)]);
	}
	for (size_t i = 0; i < n; i++) {
		idx[i] = s->bucket[hash[i] & (s->nbuckets - 1)];
		if (idx[i] == NONE)
			continue;
		/* An entry may straddle two cache lines. */
		__builtin_prefetch(&s->ent[idx[i]]);
		__builtin_prefetch((const char *)&s->ent[idx[i] + 1] - 1);
	}
	for (size_t i = 0; i < n; i++) {
		const struct entry *e;
		const struct chunk *c;
		const char *h;
		uint32_t len;

		if (idx[i] == NONE)
			continue;
		e = &s->ent[idx[i]];
		/* Only the head of the chain: at most one entry per bucket on average. */
		if (e->hash != hash[i] || e->chunk >= s->nch)
			continue;
		c = &s->ch[e->chunk];
		if (c->gen != e->gen || c->state != CH_CLASS)
			continue;
		h = (const char *)item_at(s, c, e->slot);
		len = s->cls[c->cls].slot_size < PREFETCH_ITEM_BYTES ? s->cls[c->cls].slot_size : PREFETCH_ITEM_BYTES;
		for (uint32_t off = 0; off < len; off += 64)
			__builtin_prefetch(h + off);
		__builtin_prefetch(h + len - 1);
	}
}

/* --- public --- */

int store_chunk_add(struct store *s, void *base, size_t size)
{
	bool odd = size != s->chunk_size;
	uint32_t ci;
	struct chunk *c;

	if (vec_reserve(&s->free_chunks, s->nch + 1) < 0 || vec_reserve(&s->odd, s->nch + 1) < 0)
		return -ENOMEM;
	if (s->empty.n) {
		ci = s->empty.v[--s->empty.n];
	} else {
		struct chunk *nc;

		if (s->nch == NONE - 1 || vec_reserve(&s->empty, s->nch + 1) < 0)
			return -ENOMEM;
		nc = realloc(s->ch, ((size_t)s->nch + 1) * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		s->ch = nc;
		ci = s->nch++;
		memset(&s->ch[ci], 0, sizeof(s->ch[ci]));
	}
	c = &s->ch[ci];
	c->base = base;
	c->size = size;
	c->cls = -1;
	c->avail_pos = NONE;
	c->touched = 0;
	c->used = c->nexp = 0;
	c->used_bytes = 0;
	c->state = odd ? CH_ODD : CH_FREE;
	c->list_pos = vec_push(odd ? &s->odd : &s->free_chunks, ci);
	s->capacity += size;
	return odd ? -EINVAL : 0;
}

static void *release_chunk(struct store *s, uint32_t ci)
{
	struct chunk *c = &s->ch[ci];
	void *base = c->base;

	if (c->state == CH_CLASS) {
		leave_class(s, ci);
		drop_items(s, c, &s->losses, &s->loss_bytes);
	} else {
		vec_remove(s, c->state == CH_ODD ? &s->odd : &s->free_chunks, c->list_pos, false);
	}
	clear_dirty(s, c);
	/* The one step that turns every index entry pointing here into a miss. */
	c->gen++;
	c->base = NULL;
	c->state = CH_EMPTY;
	s->capacity -= c->size;
	vec_push(&s->empty, ci);
	return base;
}

static int colder_first(const void *a, const void *b, void *arg)
{
	const struct chunk *ch = arg;
	const struct chunk *x = &ch[*(const uint32_t *)a], *y = &ch[*(const uint32_t *)b];

	if (x->used_bytes != y->used_bytes)
		return x->used_bytes < y->used_bytes ? -1 : 1;
	return (x->touched > y->touched) - (x->touched < y->touched);
}

size_t store_chunks_take(struct store *s, size_t n, void **out)
{
	size_t k = 0;
	uint32_t *order;
	uint32_t m = 0;

	while (k < n && s->odd.n)
		out[k++] = release_chunk(s, s->odd.v[s->odd.n - 1]);
	while (k < n && s->free_chunks.n)
		out[k++] = release_chunk(s, s->free_chunks.v[s->free_chunks.n - 1]);
	if (k == n)
		return k;
	order = malloc((size_t)s->nch * sizeof(*order) + 1);
	for (uint32_t ci = 0; ci < s->nch; ci++) {
		if (s->ch[ci].state != CH_CLASS)
			continue;
		if (!order) {
			/* No memory to rank them: give back in table order, still O(chunks). */
			out[k++] = release_chunk(s, ci);
			if (k == n)
				return k;
			continue;
		}
		order[m++] = ci;
	}
	if (!order)
		return k;
	if (n - k < m)
		qsort_r(order, m, sizeof(*order), colder_first, s->ch);
	for (uint32_t i = 0; i < m && k < n; i++)
		out[k++] = release_chunk(s, order[i]);
	free(order);
	return k;
}

size_t store_max_value(const struct store *s, size_t klen)
{
	if (klen > STORE_MAX_KEY)
		return 0;
	return s->chunk_size - STORE_ITEM_HDR - klen;
}

static int reserve_scratch(struct store *s, size_t n)
{
	size_t cap = s->scratch_cap ? s->scratch_cap : 4096;
	char *p;

	if (n <= s->scratch_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	p = realloc(s->scratch, cap);
	if (!p)
		return -ENOMEM;
	s->scratch = p;
	s->scratch_cap = cap;
	return 0;
}

/*
 * Reclaimable mode: copies the value out of its chunk, then checks the copy. A page dropped before or during the
 * copy shows in the check; one dropped after it does not matter any more. A failed check loses the chunk.
 */
static int read_verified(struct store *s, const struct entry *e, struct store_val *v)
{
	const struct item_hdr *h = item_at(s, &s->ch[e->chunk], e->slot);
	size_t n = *(const volatile uint32_t *)&h->vlen;

	if (n > store_max_value(s, e->klen)) {
		lose_chunk(s, e->chunk);
		return -ENOENT;
	}
	/* Without memory to copy into, a miss; the item itself is fine. */
	if (reserve_scratch(s, n) < 0)
		return -ENOENT;
	memcpy(s->scratch, (const char *)(h + 1) + e->klen, n);
	if (value_check(s, s->scratch, n) != e->check) {
		lose_chunk(s, e->chunk);
		return -ENOENT;
	}
	v->p = s->scratch;
	v->n = n;
	return 0;
}

int store_get(struct store *s, const void *key, size_t klen, uint64_t now, struct store_val *v)
{
	uint32_t idx = lookup(s, key, klen, hash_key(s, key, klen), now);
	struct entry *e;
	struct item_hdr *h;

	if (idx == NONE)
		return -ENOENT;
	e = &s->ent[idx];
	e->lru = now;
	s->ch[e->chunk].touched = now;
	v->type = e->type;
	if (s->reclaimable)
		return read_verified(s, e, v);
	h = item_at(s, &s->ch[e->chunk], e->slot);
	v->p = (const char *)(h + 1) + klen;
	v->n = h->vlen;
	return 0;
}

/* Writes a whole item (header, key, value) into a slot. */
static void write_item(struct store *s, uint32_t ci, uint32_t slot, uint32_t owner, const void *key, size_t klen,
		       const void *val, size_t vlen)
{
	struct chunk *c = &s->ch[ci];
	struct item_hdr *h = item_at(s, c, slot);

	hdr_set_entry(h, owner);
	h->klen = (uint32_t)klen;
	h->vlen = (uint32_t)vlen;
	memcpy(h + 1, key, klen);
	memcpy((char *)(h + 1) + klen, val, vlen);
	mark_dirty(s, c);
}

int store_set(struct store *s, const void *key, size_t klen, const void *val, size_t vlen, uint64_t expire_at,
	      int flags, uint64_t now)
{
	uint64_t hash = hash_key(s, key, klen);
	uint32_t idx, ci, slot;
	uint64_t check;
	size_t item;
	struct item_hdr *h;
	struct entry *e;
	int cls, err;

	if (klen > STORE_MAX_KEY || vlen > store_max_value(s, klen))
		return -E2BIG;
	check = s->reclaimable ? value_check(s, val, vlen) : 0;
	item = STORE_ITEM_HDR + klen + vlen;
	cls = class_for(s, item);
	idx = lookup(s, key, klen, hash, now);
	if ((flags & STORE_SET_NX) && idx != NONE)
		return -EEXIST;
	if ((flags & STORE_SET_XX) && idx == NONE)
		return -ENOENT;
	if (flags & STORE_SET_KEEPTTL)
		expire_at = idx != NONE ? s->ent[idx].expire_at : 0;
	if (idx != NONE && s->ch[s->ent[idx].chunk].cls == cls) {
		/* Same slot size: rewrite in place; nothing runs between the copy and the reply. The whole item is
		 * written, so that it is whole again even if the kernel dropped a page of it. */
		e = &s->ent[idx];
		write_item(s, e->chunk, e->slot, idx, key, klen, val, vlen);
		e->check = check;
		e->type = flags & STORE_SET_HASH ? STORE_HASH : STORE_STRING;
		set_expiry(s, e, expire_at);
		e->lru = now;
		s->ch[e->chunk].touched = now;
		s->writes++;
		return 0;
	}
	if (idx == NONE && (err = reserve_entry(s)) < 0)
		return err;
	err = alloc_slot(s, cls, &ci, &slot);
	if (err < 0)
		return err;
	write_item(s, ci, slot, PENDING, key, klen, val, vlen);
	h = item_at(s, &s->ch[ci], slot);
	/* Making room may have evicted the old value (its entry is then free): the key is new again, and the
	 * entry that eviction freed is there to take. */
	if (idx != NONE && s->ent[idx].chunk == NONE)
		idx = NONE;
	if (idx != NONE && entry_live(s, &s->ent[idx])) {
		e = &s->ent[idx];
		set_expiry(s, e, 0);
		free_slot(s, e->chunk, e->slot);
		s->keys--;
	} else if (idx != NONE) {
		/* Making room lost the old value's chunk (reclaimable mode): its counts went with the chunk, and the
		 * entry, still linked under this key, is reused. */
		e = &s->ent[idx];
		e->expire_at = 0;
	} else {
		idx = s->ent_free;
		e = &s->ent[idx];
		s->ent_free = e->next;
		s->ent_used++;
		e->hash = hash;
		e->klen = (uint32_t)klen;
		e->expire_at = 0;
		e->next = *bucket_of(s, hash);
		*bucket_of(s, hash) = idx;
	}
	e->chunk = ci;
	e->slot = slot;
	e->gen = s->ch[ci].gen;
	e->lru = now;
	e->check = check;
	e->type = flags & STORE_SET_HASH ? STORE_HASH : STORE_STRING;
	set_expiry(s, e, expire_at);
	s->ch[ci].touched = now;
	hdr_set_entry(h, idx);
	s->keys++;
	s->writes++;
	return 0;
}

int store_del(struct store *s, const void *key, size_t klen, uint64_t now)
{
	uint32_t idx = lookup(s, key, klen, hash_key(s, key, klen), now);

	if (idx == NONE)
		return -ENOENT;
	remove_key(s, idx);
	s->writes++;
	return 0;
}

int store_expire(struct store *s, const void *key, size_t klen, uint64_t expire_at, uint64_t now)
{
	uint32_t idx = lookup(s, key, klen, hash_key(s, key, klen), now);

	if (idx == NONE)
		return -ENOENT;
	if (expire_at && expire_at <= now)
		remove_key(s, idx);
	else
		set_expiry(s, &s->ent[idx], expire_at);
	s->writes++;
	return 0;
}

int store_expiry(struct store *s, const void *key, size_t klen, uint64_t now, uint64_t *expire_at)
{
	uint32_t idx = lookup(s, key, klen, hash_key(s, key, klen), now);

	if (idx == NONE)
		return -ENOENT;
	*expire_at = s->ent[idx].expire_at;
	return 0;
}

int store_usage(struct store *s, const void *key, size_t klen, uint64_t now, uint64_t *bytes)
{
	uint32_t idx = lookup(s, key, klen, hash_key(s, key, klen), now);

	if (idx == NONE)
		return -ENOENT;
	*bytes = (uint64_t)s->cls[s->ch[s->ent[idx].chunk].cls].slot_size + sizeof(struct entry);
	return 0;
}

/* The key of a live, unexpired entry, checked against its item (a dropped page, in reclaimable mode, must not show
 * as a key); NULL otherwise. Reads only: a walk changes nothing. */
static const char *entry_key(const struct store *s, uint32_t idx, uint64_t now)
{
	const struct entry *e = &s->ent[idx];
	const struct item_hdr *h;

	if (e->chunk == NONE || !entry_live(s, e) || (e->expire_at && e->expire_at <= now))
		return NULL;
	h = item_at(s, &s->ch[e->chunk], e->slot);
	if (hdr_entry(h) != idx || h->klen != e->klen ||
	    (s->reclaimable && hash_key(s, h + 1, e->klen) != e->hash))
		return NULL;
	return (const char *)(h + 1);
}

/* Calls fn for the live keys of one bucket. */
static void walk_bucket(const struct store *s, uint32_t b, uint64_t now, store_key_fn fn, void *arg)
{
	for (uint32_t idx = s->bucket[b]; idx != NONE; idx = s->ent[idx].next) {
		const char *key = entry_key(s, idx, now);

		if (key)
			fn(arg, key, s->ent[idx].klen, s->ent[idx].type);
	}
}

static uint64_t rev64(uint64_t v)
{
	v = ((v >> 1) & 0x5555555555555555u) | ((v & 0x5555555555555555u) << 1);
	v = ((v >> 2) & 0x3333333333333333u) | ((v & 0x3333333333333333u) << 2);
	v = ((v >> 4) & 0x0f0f0f0f0f0f0f0fu) | ((v & 0x0f0f0f0f0f0f0f0fu) << 4);
	return __builtin_bswap64(v);
}

uint64_t store_scan(const struct store *s, uint64_t cursor, size_t buckets, uint64_t now, store_key_fn fn,
		    void *arg)
{
	uint64_t mask = s->nbuckets - 1;

	if (buckets == 0)
		buckets = 1;
	/* Redis's reverse-binary cursor: the high bits of the bucket index count up, so that a table that doubled
	 * between two calls neither skips nor (for keys that stayed) repeats the buckets already walked. */
	do {
		walk_bucket(s, (uint32_t)(cursor & mask), now, fn, arg);
		cursor |= ~mask;
		cursor = rev64(rev64(cursor) + 1);
	} while (cursor && --buckets);
	return cursor;
}

int store_random_key(const struct store *s, uint64_t now, uint64_t rnd_seed, store_key_fn fn, void *arg)
{
	uint64_t r = rnd_seed | 1;

	for (int i = 0; i < 64 && s->ent_cap; i++) {
		const char *key;
		uint32_t idx;

		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		idx = (uint32_t)(r % s->ent_cap);
		key = entry_key(s, idx, now);
		if (key) {
			fn(arg, key, s->ent[idx].klen, s->ent[idx].type);
			return 0;
		}
	}
	/* A sparse index: walk the buckets from a random one to the first key. */
	for (uint32_t i = 0; i < s->nbuckets; i++) {
		uint32_t b = (uint32_t)((r + i) & (s->nbuckets - 1));

		for (uint32_t idx = s->bucket[b]; idx != NONE; idx = s->ent[idx].next) {
			const char *key = entry_key(s, idx, now);

			if (key) {
				fn(arg, key, s->ent[idx].klen, s->ent[idx].type);
				return 0;
			}
		}
	}
	return -ENOENT;
}

void store_flush(struct store *s)
{
	memset(s->bucket, 0xff, (size_t)s->nbuckets * sizeof(*s->bucket));
	s->ent_free = NONE;
	for (uint32_t i = s->ent_cap; i-- > 0;) {
		s->ent[i].chunk = NONE;
		s->ent[i].next = s->ent_free;
		s->ent_free = i;
	}
	s->ent_used = 0;
	for (uint32_t ci = 0; ci < s->nch; ci++)
		if (s->ch[ci].state == CH_CLASS)
			chunk_to_free_pool(s, ci);
	s->keys = s->expires = s->used_bytes = s->exp_sum = 0;
	s->writes++;
}

size_t store_sweep(struct store *s, uint64_t now, size_t budget)
{
	size_t reaped = 0;

	for (size_t b = 0; b < budget && b < s->nbuckets; b++) {
		uint32_t *link = &s->bucket[s->sweep_cursor];

		while (*link != NONE) {
			uint32_t idx = *link;
			struct entry *e = &s->ent[idx];

			if (!entry_live(s, e)) {
				unlink_entry(s, idx);
				reaped++;
			} else if (e->expire_at && e->expire_at <= now) {
				remove_key(s, idx);
				s->expired++;
				reaped++;
			} else {
				link = &e->next;
			}
		}
		s->sweep_cursor = (s->sweep_cursor + 1) & (s->nbuckets - 1);
	}
	return reaped;
}

uint64_t store_refree(struct store *s, store_refree_fn fn, void *arg)
{
	uint64_t bytes = 0;
	char *run = NULL;
	size_t len = 0;

	/* Chunks arrive in address order, mostly: neighbours in the table go back in one call, which costs about as
	 * much as one chunk does (the call and its TLB flush dominate). */
	for (uint32_t ci = 0; s->ndirty && ci < s->nch; ci++) {
		struct chunk *c = &s->ch[ci];

		if (!c->dirty)
			continue;
		clear_dirty(s, c);
		if (run && run + len == c->base) {
			len += c->size;
			continue;
		}
		if (run && fn(run, len, arg) == 0)
			bytes += len;
		run = c->base;
		len = c->size;
	}
	if (run && fn(run, len, arg) == 0)
		bytes += len;
	s->refreed += bytes;
	return bytes;
}

uint64_t store_writes(const struct store *s) { return s->writes; }

void store_set_limit(struct store *s, uint64_t bytes) { s->limit = bytes; }

void store_set_refill(struct store *s, store_refill_fn fn, void *arg)
{
	s->refill = fn;
	s->refill_arg = arg;
}

void store_get_stats(const struct store *s, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->capacity = s->capacity;
	out->used = s->used_bytes;
	out->keys = s->keys;
	out->expires = s->expires;
	out->expire_avg = s->expires ? s->exp_sum / s->expires * 1000 : 0;
	out->evictions = s->evictions;
	out->losses = s->losses;
	out->loss_bytes = s->loss_bytes;
	out->expired = s->expired;
	out->dropped = s->dropped;
	out->dropped_bytes = s->dropped_bytes;
	out->refreed = s->refreed;
	out->chunks = s->nch - s->empty.n;
	out->chunks_free = s->free_chunks.n;
	out->index_entries = s->ent_used;
	out->refused = s->refused;
	out->index_bytes = (uint64_t)s->nbuckets * sizeof(*s->bucket) + (uint64_t)s->ent_cap * sizeof(struct entry);
}
