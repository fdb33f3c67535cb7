/* recharge: memory charged to a cgroup the process left, copied into fresh pages charged where it is now. */
#include "lib/recharge.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/size.h"

#define HUGE (2 * MIB)
#define STEP (64 * KIB)

static bool all_zero(const uint64_t *p, size_t words)
{
	for (size_t i = 0; i < words; i++)
		if (p[i])
			return false;
	return true;
}

/* A fresh RW mapping of len bytes (2 MiB-aligned and MADV_HUGEPAGE with `huge`), or MAP_FAILED. */
static char *fresh(size_t len, bool huge)
{
	size_t extra = huge ? HUGE : 0;
	char *raw = mmap(NULL, len + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), *p;

	if (raw == MAP_FAILED || !huge)
		return raw;
	p = (char *)round_up((uintptr_t)raw, HUGE);
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + len + extra > p + len)
		munmap(p + len, (size_t)(raw + len + extra - (p + len)));
	madvise(p, len, MADV_HUGEPAGE);
	return p;
}

/* Re-charges one chunk; false when it was left as it was. */
static bool move_chunk(char *at, size_t len, bool huge)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *old, *dst;

	/* The fresh mapping first: made after the move it could be given the hole itself. */
	dst = fresh(len, huge);
	if (dst == MAP_FAILED)
		return false;
	/* An mremap to the same size does not move without MREMAP_FIXED: a reserved place to move to. */
	old = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (old == MAP_FAILED) {
		munmap(dst, len);
		return false;
	}
	/* From here until the new pages are moved in, `at` is a hole: the tracker's handler holds back whoever
	 * touches it. */
	if (mremap(at, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, old) == MAP_FAILED) {
		munmap(old, len);
		munmap(dst, len);
		return false;
	}
	if (mprotect(old, len, PROT_READ) < 0)
		goto undo;
	/* STEP bytes at a time, each dropped from the old mapping once copied (nobody else maps it now): the process
	 * never holds more than STEP twice, so that a domain at its limit needs no more room than that. */
	for (size_t off = 0; off < len; off += STEP) {
		size_t n = len - off < STEP ? len - off : STEP;
		for (size_t o = off; o < off + n; o += page)
			if (!all_zero((const uint64_t *)(old + o), page / 8)) /* untouched pages stay unfaulted */
				memcpy(dst + o, old + o, page);
		madvise(old + off, n, MADV_DONTNEED);
	}
	/* The data is in dst alone now: it goes into the hole whatever happens. */
	mprotect(dst, len, PROT_NONE);
	if (mremap(dst, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, at) == MAP_FAILED)
		abort(); /* the hole and its data apart: nothing sane is left to do */
	munmap(old, len);
	return true;
undo:
	munmap(dst, len);
	mprotect(old, len, PROT_NONE);
	/* Back where it was. This mremap only fills the hole it left: it needs no new mapping beyond the one the
	 * first mremap freed. */
	mremap(old, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, at);
	return false;
}

uint64_t recharge_range(uintptr_t start, size_t len, size_t chunk, bool huge)
{
	uintptr_t end = start + len, at = start;
	uint64_t done = 0;

	while (at < end) {
		uintptr_t next = round_down(at, chunk) + chunk;
		size_t n = (next < end ? next : end) - at;

		if (move_chunk((char *)at, n, huge && n == HUGE))
			done += n;
		at += n;
	}
	return done;
}
