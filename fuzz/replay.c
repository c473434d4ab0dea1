/* Replays corpus files through a harness without libFuzzer, so that every
 * build (gcc, and under ASan/UBSan with -Db_sanitize) runs the committed
 * seeds and crash reproducers as a plain meson test.
 *
 * usage: replay_NAME FILE|DIR...  (a directory: every regular file in it,
 * in name order, so that a failure names the same file every time) */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 1;
	}
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			uint8_t *p = realloc(data, cap);
			if (!p) {
				fclose(f);
				free(data);
				fprintf(stderr, "%s: out of memory\n", path);
				return 1;
			}
			data = p;
		}
		size_t n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(data);
		fprintf(stderr, "%s: read error\n", path);
		return 1;
	}
	/* a crash or an oracle abort ends the process: say which file first */
	fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	int failed = 0, files = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed += run_file(argv[i]);
			files++;
			continue;
		}
		struct dirent **names;
		int n = scandir(argv[i], &names, NULL, by_name);
		if (n < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			failed++;
			continue;
		}
		for (int k = 0; k < n; k++) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
				failed += run_file(path);
				files++;
			}
			free(names[k]);
		}
		free(names);
	}
	if (files == 0) {
		fprintf(stderr, "no corpus files\n");
		return 1;
	}
	printf("%d inputs replayed, %d unreadable\n", files, failed);
	return failed ? 1 : 0;
}
