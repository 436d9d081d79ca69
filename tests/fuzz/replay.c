/*
 * replay.c - a main() for the fuzz targets built without libFuzzer (gcc,
 * the normal build): feeds every file of the directories (or the files)
 * given to LLVMFuzzerTestOneInput, one at a time, so that the committed
 * corpus runs as a plain test. A failed check aborts, naming the input
 * on stderr first; an empty corpus is an error, not a pass.
 *
 * Usage: fuzz_NAME DIR|FILE...
 */
#include <dirent.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
	struct stat st;
	uint8_t *buf;
	size_t n;
	FILE *f;

	f = fopen(path, "rb");
	if (!f)
		err(1, "%s", path);
	if (fstat(fileno(f), &st) < 0)
		err(1, "stat %s", path);
	/* exactly the input's size: ASan sees a read past its end */
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf)
		err(1, "malloc");
	n = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f))
		err(1, "read %s", path);
	fclose(f);
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
	(void)LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 1;
}

static int cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *dir)
{
	struct dirent **ents;
	char path[4096];
	int n, i, done = 0;

	n = scandir(dir, &ents, NULL, cmp);
	if (n < 0)
		err(1, "%s", dir);
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir,
				 ents[i]->d_name);
			done += run_file(path);
		}
		free(ents[i]);
	}
	free(ents);
	return done;
}

int main(int argc, char **argv)
{
	struct stat st;
	int i, done = 0;

	if (argc < 2)
		errx(2, "usage: %s DIR|FILE...", argv[0]);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) < 0)
			err(1, "%s", argv[i]);
		done += S_ISDIR(st.st_mode) ? run_dir(argv[i])
					    : run_file(argv[i]);
	}
	if (done == 0)
		errx(1, "no inputs in %s...: an empty corpus tests nothing",
		     argv[1]);
	printf("%s: %d inputs replayed, no finding\n", argv[0], done);
	return 0;
}
