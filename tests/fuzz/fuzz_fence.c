/* fuzz_fence.c: fence files (WKT lines or GeoJSON) on any bytes: loading
 * never crashes, and what loads answers queries consistently. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tk_fence.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tk_fenceset fs;
	struct tk_fence_opts o = {.repair = size % 2, .wkt_latlon = size % 3 == 0, .width = 100};
	char err[512];
	if (size > 1 << 14)
		return 0;
	tk_fenceset_init(&fs);
	if (tk_fenceset_load_mem(&fs, "fuzz", (const char *)data, size, &o, NULL, NULL, err,
	    sizeof(err)) == 0 && tk_fenceset_build(&fs, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < fs.n; i++) {
			const struct tk_fence *f = &fs.f[i];
			double x = (f->minx + f->maxx) / 2, y = (f->miny + f->maxy) / 2;
			uint32_t out[16];
			size_t n = tk_fenceset_query(&fs, x > 180 ? x - 360 : x, y, out, 16);
			for (size_t k = 1; k < n && k < 16; k++)
				if (out[k] <= out[k - 1])
					abort();
			(void)tk_fence_boundary_dist(f, x, y);
		}
	}
	tk_fenceset_free(&fs);
	return 0;
}
