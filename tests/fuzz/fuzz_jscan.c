/* fuzz_jscan.c: the fast record scan against json-c on any bytes: what
 * the scan accepts json-c must accept, with the same members. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tk_jscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same_str(json_object *o, const char *key, bool has, struct tk_span sp)
{
	json_object *v;
	bool is = json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string);
	if (is != has)
		return false;
	return !is || ((size_t)json_object_get_string_len(v) == sp.n &&
	    memcmp(json_object_get_string(v), sp.p, sp.n) == 0);
}

static bool
same_num(json_object *o, const char *key, bool has, double d)
{
	json_object *v;
	bool is = json_object_object_get_ex(o, key, &v) &&
	    (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int));
	if (is != has)
		return false;
	if (!is)
		return true;
	double j = json_object_get_double(v);
	/* json-c reads big integers as int64 (saturating): compare only
	 * where both are exact */
	if (json_object_is_type(v, json_type_int) && fabs(d) > 9e15)
		return true;
	return j == d;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tk_jrec r;
	const char *p = (const char *)data;
	if (size > 1 << 16 || tk_jscan(p, size, &r) != 0)
		return 0;
	json_tokener *tok = json_tokener_new_ex(64);
	json_object *o = json_tokener_parse_ex(tok, p, (int)size);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object))
		abort();
	for (size_t i = json_tokener_get_parse_end(tok); i < size; i++)
		if (strchr(" \t\r\n", p[i]) == NULL)
			abort();
	if (!same_str(o, "type", r.has_type, r.type) || !same_str(o, "uniqueId", r.has_id, r.id) ||
	    !same_num(o, "latitude", r.has_lat, r.lat) ||
	    !same_num(o, "longitude", r.has_lon, r.lon) || p[r.close] != '}')
		abort();
	json_object_put(o);
	json_tokener_free(tok);
	return 0;
}
