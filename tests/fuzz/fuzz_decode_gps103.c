/*
 * fuzz_decode_gps103.c: the gps103 decoder on any bytes, several frames
 * per session (the input split on "\n--\n") so photo reassembly runs
 * across frames, with a photo directory under /tmp that completed photos
 * are written to (and emptied after each input).
 */
#include <dirent.h>
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[64];

static void
clean(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[384];
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
}

static void
bye(void)
{
	clean();
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	strcpy(dir, "/tmp/fuzz-gps103-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	atexit(bye);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* first byte: write photos or not */
	if (size < 1)
		return 0;
	const char *pd = (data[0] & 1) ? dir : NULL;
	fz_decode_frames(TK_D_GPS103, pd, data + 1, size - 1);
	if (pd)
		clean();
	return 0;
}
