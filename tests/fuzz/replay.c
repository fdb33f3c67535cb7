/*
 * replay: runs a libFuzzer target's entry point over every file of its corpus, so the normal test run replays
 * what fuzzing found. Each input is copied to the end of a page followed by a guard page, so an over-read crashes.
 *   replay_fuzz_NAME CORPUS_DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	static unsigned char buf[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t n, page = (size_t)sysconf(_SC_PAGESIZE), span;
	unsigned char *map;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	span = (n + page - 1) / page * page;
	map = mmap(NULL, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -1;
	mprotect(map + span, page, PROT_NONE);
	memcpy(map + span - n, buf, n);
	LLVMFuzzerTestOneInput(map + span - n, n);
	munmap(map, span + page);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0;

	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		char path[4096];

		if (!d) {
			fprintf(stderr, "replay: cannot open %s\n", argv[i]);
			return 1;
		}
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			if (run_file(path) == 0)
				files++;
		}
		closedir(d);
	}
	printf("replayed %d inputs\n", files);
	return files > 0 ? 0 : 1;
}
