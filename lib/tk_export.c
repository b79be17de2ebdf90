/* tk_export.c: GPX, KML, GeoJSON, CSV, JSON lines and SVG writers for
 * finished tracks.  See tk_export.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libxml/xmlwriter.h>

#include "tk_export.h"
#include "tk_fence.h"
#include "tk_util.h"

/* ---- small helpers --------------------------------------------------- */

static const char *
tstr(char *buf, int64_t ms)
{
	tk_fmt_time(buf, ms);
	return buf;
}

/* An XML writer over a FILE *, with a sticky failure flag so that the
 * writers read straight through. */
struct xw {
	xmlTextWriterPtr w;
	bool		 bad;
};

static void
xml_quiet(void *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

static int
xw_open(struct xw *x, FILE *f, char *err, size_t errlen)
{
	x->bad = false;
	/* the library never prints: failures come back through err */
	xmlSetGenericErrorFunc(NULL, xml_quiet);
	xmlOutputBufferPtr ob = xmlOutputBufferCreateFile(f, NULL);
	if (ob == NULL) {
		tk_errf(err, errlen, "cannot create an XML output buffer");
		return -1;
	}
	x->w = xmlNewTextWriter(ob);
	if (x->w == NULL) {
		xmlOutputBufferClose(ob);
		tk_errf(err, errlen, "cannot create an XML writer");
		return -1;
	}
	xmlTextWriterSetIndent(x->w, 1);
	xmlTextWriterSetIndentString(x->w, BAD_CAST " ");
	if (xmlTextWriterStartDocument(x->w, NULL, "UTF-8", NULL) < 0)
		x->bad = true;
	return 0;
}

static int
xw_close(struct xw *x, FILE *f, char *err, size_t errlen)
{
	if (!x->bad && xmlTextWriterEndDocument(x->w) < 0)
		x->bad = true;
	if (!x->bad && xmlTextWriterFlush(x->w) < 0)
		x->bad = true;
	xmlFreeTextWriter(x->w);
	x->w = NULL;
	if (fflush(f) != 0 || ferror(f))
		x->bad = true;
	if (x->bad) {
		tk_errf(err, errlen, "XML output failed: %s", strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

static void
xs(struct xw *x, const char *name)
{
	if (!x->bad && xmlTextWriterStartElement(x->w, BAD_CAST name) < 0)
		x->bad = true;
}

static void
xe(struct xw *x)
{
	if (!x->bad && xmlTextWriterEndElement(x->w) < 0)
		x->bad = true;
}

static void
xa(struct xw *x, const char *name, const char *v)
{
	if (!x->bad && xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST v) < 0)
		x->bad = true;
}

static void __attribute__((format(printf, 3, 4)))
xaf(struct xw *x, const char *name, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	xa(x, name, buf);
}

static void
xel(struct xw *x, const char *name, const char *text)
{
	if (!x->bad && xmlTextWriterWriteElement(x->w, BAD_CAST name, BAD_CAST text) < 0)
		x->bad = true;
}

static void __attribute__((format(printf, 3, 4)))
xelf(struct xw *x, const char *name, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	xel(x, name, buf);
}

static void
xtext(struct xw *x, const char *text)
{
	if (!x->bad && xmlTextWriterWriteString(x->w, BAD_CAST text) < 0)
		x->bad = true;
}

/* Device ids and labels come from the wire: make them valid UTF-8
 * without control characters before libxml2 sees them (it escapes <, &
 * and quotes, but does not repair encodings). */
static const char *
clean(char *out, size_t cap, const char *s)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p && o + 4 < cap) {
		unsigned c = *p;
		size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 :
		    (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
		bool ok = len > 0 && !(c == 0xC0 || c == 0xC1 || c > 0xF4);
		for (size_t k = 1; ok && k < len; k++)
			if ((p[k] & 0xC0) != 0x80)
				ok = false;
		if (!ok || (len == 1 && (c < 0x20 || c == 0x7F))) {
			out[o++] = '?';
			p++;
			continue;
		}
		memmove(out + o, p, len);
		o += len;
		p += len;
	}
	out[o] = '\0';
	return out;
}

static void
fmtnum(char *out, double v, int prec)
{
	if (!isfinite(v))
		v = 0;
	tk_fmt_num(out, v, prec);
}

/* ---- GPX 1.1 --------------------------------------------------------- */

int
tk_export_gpx(FILE *f, const struct tk_track *t, const struct tk_export_opts *o,
    char *err, size_t errlen)
{
	struct xw x;
	char tb[32], cb[TK_TRK_LABEL_MAX + TK_ID_MAX + 64];

	if (xw_open(&x, f, err, errlen) != 0)
		return -1;
	xs(&x, "gpx");
	xa(&x, "version", "1.1");
	xa(&x, "creator", o && o->creator ? o->creator : "tk-track");
	xa(&x, "xmlns", "http://www.topografix.com/GPX/1/1");
	xa(&x, "xmlns:gpxtpx", "http://www.garmin.com/xmlschemas/TrackPointExtension/v2");
	xa(&x, "xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance");
	xa(&x, "xsi:schemaLocation", "http://www.topografix.com/GPX/1/1 "
	    "http://www.topografix.com/GPX/1/1/gpx.xsd");
	xs(&x, "metadata");
	xel(&x, "name", "tk-track");
	xe(&x);
	/* waypoints come before tracks in GPX 1.1 */
	for (size_t i = 0; i < t->ndev; i++) {
		const struct tk_tdev *d = t->dev[i];
		for (size_t k = 0; k < d->nev; k++) {
			const struct tk_tevent *e = &d->ev[k];
			xs(&x, "wpt");
			xaf(&x, "lat", "%.7f", e->lat);
			xaf(&x, "lon", "%.7f", e->lon);
			xel(&x, "time", tstr(tb, e->t));
			xel(&x, "name", clean(cb, sizeof(cb), e->label));
			char id[TK_ID_MAX * 4];
			snprintf(cb, sizeof(cb), "%s: %s %s", clean(id, sizeof(id), d->id),
			    e->kind, e->label);
			xel(&x, "desc", clean(cb, sizeof(cb), cb));
			xel(&x, "type", e->kind);
			xe(&x);
		}
	}
	for (size_t i = 0; i < t->ndev; i++) {
		const struct tk_tdev *d = t->dev[i];
		if (d->npt == 0)
			continue;
		xs(&x, "trk");
		xel(&x, "name", clean(cb, sizeof(cb), d->id));
		xelf(&x, "desc", "%zu fix%s, %zu trip%s, %zu stop%s", d->npt,
		    d->npt == 1 ? "" : "es", d->ntrip, d->ntrip == 1 ? "" : "s", d->nstop,
		    d->nstop == 1 ? "" : "s");
		for (size_t k = 0; k < d->npt; k++) {
			const struct tk_tpoint *p = &d->pt[k];
			if (d->seg_start[k]) {
				if (k > 0)
					xe(&x);	/* trkseg */
				xs(&x, "trkseg");
			}
			xs(&x, "trkpt");
			xaf(&x, "lat", "%.7f", p->lat);
			xaf(&x, "lon", "%.7f", p->lon);
			if (!isnan(p->alt))
				xelf(&x, "ele", "%.1f", p->alt);
			xel(&x, "time", tstr(tb, p->t));
			if (!p->valid)
				xel(&x, "fix", "none");
			if (!isnan(p->speed) || !isnan(p->course)) {
				xs(&x, "extensions");
				xs(&x, "gpxtpx:TrackPointExtension");
				if (!isnan(p->speed))
					xelf(&x, "gpxtpx:speed", "%.2f", p->speed * TK_KN_MS);
				if (!isnan(p->course))
					xelf(&x, "gpxtpx:course", "%.1f", p->course);
				xe(&x);
				xe(&x);
			}
			xe(&x);	/* trkpt */
		}
		xe(&x);	/* trkseg */
		xe(&x);	/* trk */
	}
	xe(&x);	/* gpx */
	return xw_close(&x, f, err, errlen);
}

/* ---- KML 2.2 --------------------------------------------------------- */

static void
kml_style(struct xw *x, const char *id, const char *line, const char *icon_color,
    const char *href)
{
	xs(x, "Style");
	xa(x, "id", id);
	if (line) {
		xs(x, "LineStyle");
		xel(x, "color", line);
		xel(x, "width", "3");
		xe(x);
	}
	if (icon_color) {
		xs(x, "IconStyle");
		xel(x, "color", icon_color);
		xs(x, "Icon");
		xel(x, "href", href);
		xe(x);
		xe(x);
	}
	xe(x);
}

static void
kml_point(struct xw *x, double lat, double lon)
{
	xs(x, "Point");
	xelf(x, "coordinates", "%.7f,%.7f", lon, lat);
	xe(x);
}

int
tk_export_kml(FILE *f, const struct tk_track *t, const struct tk_export_opts *o,
    char *err, size_t errlen)
{
	struct xw x;
	char tb[32], tb2[32], cb[TK_TRK_LABEL_MAX * 4 + 128], id[TK_ID_MAX * 4];

	(void)o;
	if (xw_open(&x, f, err, errlen) != 0)
		return -1;
	xs(&x, "kml");
	xa(&x, "xmlns", "http://www.opengis.net/kml/2.2");
	xa(&x, "xmlns:gx", "http://www.google.com/kml/ext/2.2");
	xs(&x, "Document");
	xel(&x, "name", "tk-track");
	kml_style(&x, "trip", "ffd06020", NULL, NULL);
	kml_style(&x, "stop", NULL, "ff00a0ff",
	    "http://maps.google.com/mapfiles/kml/shapes/parking_lot.png");
	kml_style(&x, "event", NULL, "ff0000ff",
	    "http://maps.google.com/mapfiles/kml/shapes/caution.png");
	for (size_t i = 0; i < t->ndev; i++) {
		const struct tk_tdev *d = t->dev[i];
		clean(id, sizeof(id), d->id);
		xs(&x, "Folder");
		xel(&x, "name", id);
		for (size_t k = 0; k < d->ntrip; k++) {
			const struct tk_trip *tr = &d->trip[k];
			char dist[32], avg[32], mx[32];
			fmtnum(dist, tr->distance / 1000.0, 2);
			fmtnum(avg, tr->avg_speed * 1.852, 1);
			fmtnum(mx, tr->max_speed * 1.852, 1);
			xs(&x, "Placemark");
			xelf(&x, "name", "%s trip %zu", id, k + 1);
			xelf(&x, "description", "%s to %s: %s km in %lld s, average %s km/h, "
			    "max %s km/h", tstr(tb, d->pt[tr->first].t),
			    tstr(tb2, d->pt[tr->last].t), dist,
			    (long long)(tr->duration_ms / 1000), avg, mx);
			xs(&x, "TimeSpan");
			xel(&x, "begin", tstr(tb, d->pt[tr->first].t));
			xel(&x, "end", tstr(tb, d->pt[tr->last].t));
			xe(&x);
			xel(&x, "styleUrl", "#trip");
			/* the gx:Track plays back in Google Earth; the plain
			 * LineString beside it is what readers without Google's
			 * extension see (GDAL's classic KML driver, for one) */
			xs(&x, "MultiGeometry");
			xs(&x, "gx:Track");
			xel(&x, "altitudeMode", "clampToGround");
			for (size_t p = tr->first; p <= tr->last; p++)
				xel(&x, "when", tstr(tb, d->pt[p].t));
			for (size_t p = tr->first; p <= tr->last; p++)
				xelf(&x, "gx:coord", "%.7f %.7f %.1f", d->pt[p].lon,
				    d->pt[p].lat, isnan(d->pt[p].alt) ? 0.0 : d->pt[p].alt);
			xe(&x);	/* gx:Track */
			xs(&x, "LineString");
			xel(&x, "tessellate", "1");
			if (!x.bad && xmlTextWriterStartElement(x.w, BAD_CAST "coordinates") < 0)
				x.bad = true;
			for (size_t p = tr->first; p <= tr->last; p++) {
				char c[80];
				snprintf(c, sizeof(c), "%s%.7f,%.7f", p > tr->first ? " " : "",
				    d->pt[p].lon, d->pt[p].lat);
				xtext(&x, c);
			}
			xe(&x);	/* coordinates */
			xe(&x);	/* LineString */
			xe(&x);	/* MultiGeometry */
			xe(&x);	/* Placemark */
		}
		for (size_t k = 0; k < d->nstop; k++) {
			const struct tk_stop *s = &d->stop[k];
			xs(&x, "Placemark");
			xelf(&x, "name", "%s stop %zu", id, k + 1);
			xelf(&x, "description", "%s to %s (%lld s)", tstr(tb, s->arrival),
			    tstr(tb2, s->departure), (long long)(s->duration_ms / 1000));
			xs(&x, "TimeSpan");
			xel(&x, "begin", tstr(tb, s->arrival));
			xel(&x, "end", tstr(tb, s->departure));
			xe(&x);
			xel(&x, "styleUrl", "#stop");
			kml_point(&x, s->lat, s->lon);
			xe(&x);
		}
		for (size_t k = 0; k < d->nev; k++) {
			const struct tk_tevent *e = &d->ev[k];
			xs(&x, "Placemark");
			xel(&x, "name", clean(cb, sizeof(cb), e->label));
			snprintf(cb, sizeof(cb), "%s: %s %s", id, e->kind, e->label);
			xel(&x, "description", clean(cb, sizeof(cb), cb));
			xs(&x, "TimeStamp");
			xel(&x, "when", tstr(tb, e->t));
			xe(&x);
			xel(&x, "styleUrl", "#event");
			kml_point(&x, e->lat, e->lon);
			xe(&x);
		}
		xe(&x);	/* Folder */
	}
	xe(&x);	/* Document */
	xe(&x);	/* kml */
	return xw_close(&x, f, err, errlen);
}

/* ---- JSON helpers ---------------------------------------------------- */

/* A JSON string through the library's escaper (UTF-8 repaired). */
static void
jstr(FILE *f, const char *s)
{
	char mem[TK_TRK_LABEL_MAX * 8 + 16];
	struct tk_buf b = {mem, 0, sizeof(mem)};
	if (tk_buf_json_str(&b, s, strlen(s)) != 0) {
		fputs("\"\"", f);
		return;
	}
	fwrite(b.p, 1, b.len, f);
}

static void
jnum(FILE *f, double v, int prec)
{
	char b[48];
	fmtnum(b, v, prec);
	fputs(b, f);
}

static void
jkv_str(FILE *f, const char *k, const char *v)
{
	fprintf(f, ",\"%s\":", k);
	jstr(f, v);
}

static void
jkv_time(FILE *f, const char *k, int64_t ms)
{
	char tb[32];
	fprintf(f, ",\"%s\":\"%s\"", k, tstr(tb, ms));
}

static void
jkv_num(FILE *f, const char *k, double v, int prec)
{
	fprintf(f, ",\"%s\":", k);
	jnum(f, v, prec);
}

static int
stream_done(FILE *f, char *err, size_t errlen)
{
	if (fflush(f) != 0 || ferror(f)) {
		tk_errf(err, errlen, "output failed: %s", strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

/* ---- JSON lines of trips and stops ------------------------------------ */

static void
json_trip(FILE *f, const struct tk_tdev *d, const struct tk_trip *tr)
{
	const struct tk_tpoint *a = &d->pt[tr->first], *b = &d->pt[tr->last];
	fputs("{\"type\":\"trip\"", f);
	jkv_str(f, "uniqueId", d->id);
	jkv_time(f, "startTime", a->t);
	jkv_time(f, "endTime", b->t);
	jkv_num(f, "startLatitude", a->lat, 6);
	jkv_num(f, "startLongitude", a->lon, 6);
	jkv_num(f, "endLatitude", b->lat, 6);
	jkv_num(f, "endLongitude", b->lon, 6);
	jkv_num(f, "distance", tr->distance, 1);
	jkv_num(f, "duration", (double)tr->duration_ms / 1000.0, 3);
	jkv_num(f, "maxSpeed", tr->max_speed, 2);
	jkv_num(f, "averageSpeed", tr->avg_speed, 2);
	fprintf(f, ",\"points\":%zu}", tr->last - tr->first + 1);
}

static void
json_stop(FILE *f, const struct tk_tdev *d, const struct tk_stop *s)
{
	fputs("{\"type\":\"stop\"", f);
	jkv_str(f, "uniqueId", d->id);
	jkv_num(f, "latitude", s->lat, 6);
	jkv_num(f, "longitude", s->lon, 6);
	jkv_time(f, "arrival", s->arrival);
	jkv_time(f, "departure", s->departure);
	jkv_num(f, "duration", (double)s->duration_ms / 1000.0, 3);
	fputc('}', f);
}

/* Trips and stops of a device in time order: call back for each. */
static void
each_derived(void *arg, const struct tk_tdev *d,
    void (*trip)(void *, const struct tk_tdev *, const struct tk_trip *),
    void (*stop)(void *, const struct tk_tdev *, const struct tk_stop *))
{
	size_t a = 0, b = 0;
	while (a < d->ntrip || b < d->nstop) {
		bool take_trip = b >= d->nstop ||
		    (a < d->ntrip && d->trip[a].first < d->stop[b].first);
		if (take_trip)
			trip(arg, d, &d->trip[a++]);
		else
			stop(arg, d, &d->stop[b++]);
	}
}

static void
json_trip_nl(void *arg, const struct tk_tdev *d, const struct tk_trip *tr)
{
	FILE *f = arg;
	json_trip(f, d, tr);
	fputc('\n', f);
}

static void
json_stop_nl(void *arg, const struct tk_tdev *d, const struct tk_stop *s)
{
	FILE *f = arg;
	json_stop(f, d, s);
	fputc('\n', f);
}

int
tk_export_json(FILE *f, const struct tk_track *t, const struct tk_export_opts *o,
    char *err, size_t errlen)
{
	(void)o;
	for (size_t i = 0; i < t->ndev; i++)
		each_derived(f, t->dev[i], json_trip_nl, json_stop_nl);
	return stream_done(f, err, errlen);
}

/* ---- CSV ------------------------------------------------------------- */

static void
csv_field(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
csv_row(FILE *f, const char *type, const char *id, int64_t t0, int64_t t1,
    int64_t dur_ms, double dist, double mx, double avg, double lat0, double lon0,
    double lat1, double lon1)
{
	char tb[32];
	fputs(type, f);
	fputc(',', f);
	csv_field(f, id);
	fprintf(f, ",%s", tstr(tb, t0));
	fprintf(f, ",%s,", tstr(tb, t1));
	jnum(f, (double)dur_ms / 1000.0, 3);
	fputc(',', f);
	if (!isnan(dist))
		jnum(f, dist, 1);
	fputc(',', f);
	if (!isnan(mx))
		jnum(f, mx, 2);
	fputc(',', f);
	if (!isnan(avg))
		jnum(f, avg, 2);
	fputc(',', f);
	jnum(f, lat0, 6);
	fputc(',', f);
	jnum(f, lon0, 6);
	fputc(',', f);
	jnum(f, lat1, 6);
	fputc(',', f);
	jnum(f, lon1, 6);
	fputc('\n', f);
}

static void
csv_trip(void *arg, const struct tk_tdev *d, const struct tk_trip *tr)
{
	FILE *f = arg;
	const struct tk_tpoint *a = &d->pt[tr->first], *b = &d->pt[tr->last];
	csv_row(f, "trip", d->id, a->t, b->t, tr->duration_ms, tr->distance,
	    tr->max_speed, tr->avg_speed, a->lat, a->lon, b->lat, b->lon);
}

static void
csv_stop(void *arg, const struct tk_tdev *d, const struct tk_stop *s)
{
	FILE *f = arg;
	csv_row(f, "stop", d->id, s->arrival, s->departure, s->duration_ms, NAN, NAN,
	    NAN, s->lat, s->lon, s->lat, s->lon);
}

int
tk_export_csv(FILE *f, const struct tk_track *t, const struct tk_export_opts *o,
    char *err, size_t errlen)
{
	(void)o;
	fputs("type,uniqueId,start,end,duration,distance,maxSpeed,averageSpeed,"
	    "startLatitude,startLongitude,endLatitude,endLongitude\n", f);
	for (size_t i = 0; i < t->ndev; i++)
		each_derived(f, t->dev[i], csv_trip, csv_stop);
	return stream_done(f, err, errlen);
}

/* ---- GeoJSON --------------------------------------------------------- */

struct geo {
	FILE	*f;
	bool	 first;
};

static FILE *
geo_sep(void *arg)
{
	struct geo *g = arg;
	fputs(g->first ? "\n" : ",\n", g->f);
	g->first = false;
	return g->f;
}

static void
geo_pos(FILE *f, double lat, double lon)
{
	fputc('[', f);
	jnum(f, lon, 7);
	fputc(',', f);
	jnum(f, lat, 7);
	fputc(']', f);
}

/* Does the step from a to b cross the antimeridian (the shorter way
 * round passes +-180)? */
static bool
crosses(const struct tk_tpoint *a, const struct tk_tpoint *b)
{
	return fabs(b->lon - a->lon) > 180;
}

/*
 * A trip's geometry.  RFC 7946 3.1.9: a line that crosses the antimeridian
 * is cut there into a MultiLineString, each crossing at the latitude
 * where the straight step (in longitude unwrapped past 180) meets it.
 */
static void
geo_line(FILE *f, const struct tk_tdev *d, const struct tk_trip *tr)
{
	bool multi = false;
	for (size_t p = tr->first; p < tr->last && !multi; p++)
		multi = crosses(&d->pt[p], &d->pt[p + 1]);
	fputs(multi ? "{\"type\":\"MultiLineString\",\"coordinates\":[[" :
	    "{\"type\":\"LineString\",\"coordinates\":[", f);
	for (size_t p = tr->first; p <= tr->last; p++) {
		const struct tk_tpoint *b = &d->pt[p];
		if (p > tr->first) {
			const struct tk_tpoint *a = &d->pt[p - 1];
			if (crosses(a, b)) {
				/* a east of b's side: going east past +180 */
				double east = a->lon > b->lon ? 180 : -180;
				double bl = b->lon + 2 * east;	/* b unwrapped */
				double lat = a->lat + (b->lat - a->lat) *
				    (east - a->lon) / (bl - a->lon);
				fputc(',', f);
				geo_pos(f, lat, east);
				fputs("],[", f);
				geo_pos(f, lat, -east);
			}
			fputc(',', f);
		}
		geo_pos(f, b->lat, b->lon);
	}
	fputs(multi ? "]]}" : "]}", f);
}

static void
geo_trip(void *arg, const struct tk_tdev *d, const struct tk_trip *tr)
{
	FILE *f = geo_sep(arg);
	fputs("{\"type\":\"Feature\",\"geometry\":", f);
	geo_line(f, d, tr);
	fputs(",\"properties\":", f);
	json_trip(f, d, tr);
	fputc('}', f);
}

static void
geo_stop(void *arg, const struct tk_tdev *d, const struct tk_stop *s)
{
	FILE *f = geo_sep(arg);
	fputs("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":", f);
	geo_pos(f, s->lat, s->lon);
	fputs("},\"properties\":", f);
	json_stop(f, d, s);
	fputc('}', f);
}

int
tk_export_geojson(FILE *f, const struct tk_track *t, const struct tk_export_opts *o,
    char *err, size_t errlen)
{
	struct geo g = {f, true};
	(void)o;
	fputs("{\"type\":\"FeatureCollection\",\"features\":[", f);
	for (size_t i = 0; i < t->ndev; i++) {
		const struct tk_tdev *d = t->dev[i];
		each_derived(&g, d, geo_trip, geo_stop);
		for (size_t k = 0; k < d->nev; k++) {
			const struct tk_tevent *e = &d->ev[k];
			geo_sep(&g);
			fputs("{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\","
			    "\"coordinates\":", f);
			geo_pos(f, e->lat, e->lon);
			fputs("},\"properties\":{\"type\":\"event\"", f);
			jkv_str(f, "uniqueId", d->id);
			jkv_str(f, "event", e->kind);
			jkv_str(f, "name", e->label);
			jkv_time(f, "time", e->t);
			fputs("}}", f);
		}
	}
	fputs("\n]}\n", f);
	return stream_done(f, err, errlen);
}

/* ---- SVG ------------------------------------------------------------- */

static const char *const palette[] = {
	"#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
	"#bcbd22", "#7f7f7f", "#ff7f0e", "#393b79"
};
#define NPALETTE (sizeof(palette) / sizeof(palette[0]))
#define EVENT_COLOR "#d62728"
#define FENCE_COLOR "#e6a000"

struct proj {
	double	 lat0, lon0, kx;	/* kx = cos(mid latitude) */
	double	 scale;			/* px per degree of latitude */
	double	 ox, oy;		/* pixel of (lon0, lat-max) */
	double	 latmax;
};

static double
px(const struct proj *pr, double lon)
{
	return pr->ox + (lon - pr->lon0) * pr->kx * pr->scale;
}

static double
py(const struct proj *pr, double lat)
{
	return pr->oy + (pr->latmax - lat) * pr->scale;
}

struct bbox {
	double	 la0, la1, lo0, lo1;
	bool	 any;
};

static void
bb_add(struct bbox *b, double lat, double lon)
{
	if (!b->any) {
		b->la0 = b->la1 = lat;
		b->lo0 = b->lo1 = lon;
		b->any = true;
		return;
	}
	b->la0 = fmin(b->la0, lat);
	b->la1 = fmax(b->la1, lat);
	b->lo0 = fmin(b->lo0, lon);
	b->lo1 = fmax(b->lo1, lon);
}

static void
svg_text(struct xw *x, double tx, double ty, const char *cls, const char *text)
{
	xs(x, "text");
	xaf(x, "x", "%.1f", tx);
	xaf(x, "y", "%.1f", ty);
	if (cls)
		xa(x, "class", cls);
	xtext(x, text);
	xe(x);
}

static void
svg_diamond(struct xw *x, double cx, double cy, double r)
{
	xs(x, "path");
	xaf(x, "d", "M%.1f %.1fL%.1f %.1fL%.1f %.1fL%.1f %.1fZ", cx, cy - r, cx + r, cy,
	    cx, cy + r, cx - r, cy);
	xa(x, "class", "event");
	xe(x);
}

/* A "nice" scale bar length (1, 2 or 5 times a power of ten metres)
 * no longer than max_m. */
static double
nice_len(double max_m)
{
	double p = pow(10, floor(log10(max_m)));
	if (5 * p <= max_m)
		return 5 * p;
	if (2 * p <= max_m)
		return 2 * p;
	return p;
}

/* Event and fence labels: a greedy placer that tries a few spots around
 * each marker and takes the first that overlaps nothing placed before
 * and stays inside the map. */
struct lbl {
	double	(*b)[4];
	size_t	 n, cap;
	double	 x0, y0, x1, y1;	/* the map area */
};

static size_t
u8len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static bool
lbl_free(const struct lbl *L, const double b[4])
{
	if (b[0] < L->x0 || b[2] > L->x1 || b[1] < L->y0 || b[3] > L->y1)
		return false;
	for (size_t i = 0; i < L->n; i++)
		if (b[0] < L->b[i][2] && L->b[i][0] < b[2] && b[1] < L->b[i][3] &&
		    L->b[i][1] < b[3])
			return false;
	return true;
}

static void
lbl_add(struct lbl *L, double x0, double y0, double x1, double y1)
{
	if (L->n == L->cap) {
		size_t nc = L->cap ? L->cap * 2 : 64;
		if (nc > 100000)
			return;	/* enough: later labels may overlap */
		void *nb = reallocarray(L->b, nc, sizeof(*L->b));
		if (nb == NULL)
			return;
		L->b = nb;
		L->cap = nc;
	}
	L->b[L->n][0] = x0;
	L->b[L->n][1] = y0;
	L->b[L->n][2] = x1;
	L->b[L->n][3] = y1;
	L->n++;
}

/* Where to write a label next to (X, Y): the text position and its
 * anchor (0 start, 1 end, 2 middle). */
static int
lbl_place(struct lbl *L, double X, double Y, const char *text, double *tx, double *ty)
{
	const double w = (double)u8len(text) * 6.3 + 2, h = 12;
	static const double spots[][3] = {	/* dx, dy (baseline), anchor */
		{9, -5, 0}, {9, 14, 0}, {-9, -5, 1}, {-9, 14, 1}, {0, -12, 2}, {0, 22, 2},
		{9, -18, 0}, {9, 27, 0}, {-9, -18, 1}, {-9, 27, 1}, {9, -31, 0}, {9, 40, 0},
		{-9, -31, 1}, {-9, 40, 1}
	};
	const size_t nspots = sizeof(spots) / sizeof(spots[0]);
	for (size_t i = 0; i <= nspots; i++) {
		size_t k = i < nspots ? i : 0;	/* nowhere free: the first spot */
		int anchor = (int)spots[k][2];
		double bx = X + spots[k][0], by = Y + spots[k][1], b[4];
		b[0] = anchor == 1 ? bx - w : anchor == 2 ? bx - w / 2 : bx;
		b[1] = by - h + 2;
		b[2] = b[0] + w;
		b[3] = by + 3;
		if (i == nspots || lbl_free(L, b)) {
			lbl_add(L, b[0], b[1], b[2], b[3]);
			*tx = bx;
			*ty = by;
			return anchor;
		}
	}
	return 0;	/* not reached */
}

static void
svg_label(struct xw *x, struct lbl *L, double X, double Y, const char *cls,
    const char *text)
{
	static const char *const anchors[] = {"start", "end", "middle"};
	double tx, ty;
	int a = lbl_place(L, X, Y, text, &tx, &ty);
	xs(x, "text");
	xaf(x, "x", "%.1f", tx);
	xaf(x, "y", "%.1f", ty);
	xa(x, "class", cls);
	if (a)
		xa(x, "text-anchor", anchors[a]);
	xtext(x, text);
	xe(x);
}

int
tk_export_svg(FILE *f, const struct tk_track *t, const struct tk_export_opts *o,
    char *err, size_t errlen)
{
	struct xw x;
	struct bbox bb = {0, 0, 0, 0, false};
	struct proj pr;
	const struct tk_fenceset *fs = o ? o->fences : NULL;
	int W = o && o->width > 0 ? o->width : 960;
	int H = o && o->height > 0 ? o->height : 640;
	const double legend_w = 250, margin = 30, title_h = 40;
	char cb[TK_TRK_LABEL_MAX * 4 + TK_ID_MAX * 4 + 64], tb[32], tb2[32];
	int64_t tmin = INT64_MAX, tmax = INT64_MIN;
	size_t npts = 0, ntrips = 0, nstops = 0, nev = 0;
	unsigned long nout = 0;

	for (size_t i = 0; i < t->ndev; i++) {
		const struct tk_tdev *d = t->dev[i];
		for (size_t k = 0; k < d->npt; k++) {
			bb_add(&bb, d->pt[k].lat, d->pt[k].lon);
			tmin = d->pt[k].t < tmin ? d->pt[k].t : tmin;
			tmax = d->pt[k].t > tmax ? d->pt[k].t : tmax;
		}
		for (size_t k = 0; k < d->nev; k++)
			bb_add(&bb, d->ev[k].lat, d->ev[k].lon);
		npts += d->npt;
		ntrips += d->ntrip;
		nstops += d->nstop;
		nev += d->nev;
		nout += d->outliers;
	}
	for (size_t i = 0; fs && i < fs->n; i++) {
		const struct tk_fence *fe = &fs->f[i];
		if (fe->kind == TK_FENCE_CIRCLE) {
			double dlat = fe->radius / 111195.0;
			double dlon = dlat / fmax(cos(fe->clat * M_PI / 180), 0.01);
			bb_add(&bb, fe->clat - dlat, fe->clon - dlon);
			bb_add(&bb, fe->clat + dlat, fe->clon + dlon);
		} else {
			bb_add(&bb, fe->miny, fe->minx);
			bb_add(&bb, fe->maxy, fe->maxx);
		}
	}
	if (!bb.any) {
		bb.la0 = bb.la1 = 0;
		bb.lo0 = bb.lo1 = 0;
	}
	/* at least ~200 m across so a single point is not a division by zero */
	double minspan = 0.002;
	if (bb.la1 - bb.la0 < minspan) {
		double c = (bb.la0 + bb.la1) / 2;
		bb.la0 = c - minspan / 2;
		bb.la1 = c + minspan / 2;
	}
	pr.lat0 = (bb.la0 + bb.la1) / 2;
	pr.kx = fmax(cos(pr.lat0 * M_PI / 180), 0.01);
	if ((bb.lo1 - bb.lo0) * pr.kx < minspan) {
		double c = (bb.lo0 + bb.lo1) / 2;
		bb.lo0 = c - minspan / 2 / pr.kx;
		bb.lo1 = c + minspan / 2 / pr.kx;
	}
	/* room around the drawing for the labels */
	double padla = (bb.la1 - bb.la0) * 0.06, padlo = (bb.lo1 - bb.lo0) * 0.06;
	bb.la0 -= padla;
	bb.la1 += padla;
	bb.lo0 -= padlo;
	bb.lo1 += padlo;
	double mapw = W - legend_w - 2 * margin, maph = H - title_h - 2 * margin;
	double sx = mapw / ((bb.lo1 - bb.lo0) * pr.kx), sy = maph / (bb.la1 - bb.la0);
	pr.scale = fmin(sx, sy);
	pr.lon0 = bb.lo0;
	pr.latmax = bb.la1;
	/* centre the drawing in the map area */
	pr.ox = margin + (mapw - (bb.lo1 - bb.lo0) * pr.kx * pr.scale) / 2;
	pr.oy = title_h + margin + (maph - (bb.la1 - bb.la0) * pr.scale) / 2;

	struct lbl L = {NULL, 0, 0, margin / 2 + 2, title_h + margin / 2 + 2,
	    margin * 1.5 + mapw - 2, title_h + margin * 1.5 + maph - 2};
	if (xw_open(&x, f, err, errlen) != 0)
		return -1;
	xs(&x, "svg");
	xa(&x, "xmlns", "http://www.w3.org/2000/svg");
	xa(&x, "version", "1.1");
	xaf(&x, "width", "%d", W);
	xaf(&x, "height", "%d", H);
	xaf(&x, "viewBox", "0 0 %d %d", W, H);
	xs(&x, "title");
	xtext(&x, "tk-track");
	xe(&x);
	xs(&x, "style");
	xtext(&x,
	    "text{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;font-size:12px;fill:#222}"
	    ".title{font-size:16px;font-weight:bold}"
	    ".small{font-size:10px;fill:#555}"
	    ".fence{fill:" FENCE_COLOR ";fill-opacity:0.15;stroke:" FENCE_COLOR
	    ";stroke-width:2;stroke-dasharray:6 3}"
	    ".flabel{font-size:11px;fill:#8a6000;font-style:italic}"
	    ".track{fill:none;stroke-width:2.5;stroke-linejoin:round;stroke-linecap:round}"
	    ".stop{fill:#fff;stroke-width:2.5}"
	    ".event{fill:" EVENT_COLOR ";stroke:#fff;stroke-width:1}"
	    ".elabel{font-size:11px;fill:#a01010;stroke:#fff;stroke-width:3;paint-order:stroke;stroke-linejoin:round}"
	    ".flabel{stroke:#fff;stroke-width:3;paint-order:stroke}"
	    ".start{stroke:#fff;stroke-width:1.5}");
	xe(&x);
	/* background, map frame, title */
	xs(&x, "rect");
	xa(&x, "width", "100%");
	xa(&x, "height", "100%");
	xa(&x, "fill", "#ffffff");
	xe(&x);
	xs(&x, "rect");
	xaf(&x, "x", "%.1f", margin / 2);
	xaf(&x, "y", "%.1f", title_h + margin / 2);
	xaf(&x, "width", "%.1f", mapw + margin);
	xaf(&x, "height", "%.1f", maph + margin);
	xa(&x, "fill", "#f4f6f0");
	xa(&x, "stroke", "#c8ccc0");
	xe(&x);
	if (npts > 0) {
		int y0, mo0, d0, h0, mi0, s0, ms0, y1, mo1, d1, h1, mi1, s1, ms1;
		tk_civil_from_ms(tmin, &y0, &mo0, &d0, &h0, &mi0, &s0, &ms0);
		tk_civil_from_ms(tmax, &y1, &mo1, &d1, &h1, &mi1, &s1, &ms1);
		snprintf(tb, sizeof(tb), "%04d-%02d-%02d %02d:%02d", y0, mo0, d0, h0, mi0);
		if (y0 == y1 && mo0 == mo1 && d0 == d1)
			snprintf(tb2, sizeof(tb2), "%02d:%02d", h1, mi1);
		else
			snprintf(tb2, sizeof(tb2), "%04d-%02d-%02d %02d:%02d", y1, mo1, d1,
			    h1, mi1);
		snprintf(cb, sizeof(cb), "tk-track: %s \xe2\x80\x93 %s UTC", tb, tb2);
	} else
		snprintf(cb, sizeof(cb), "tk-track: no fixes");
	svg_text(&x, margin / 2, 26, "title", cb);

	/* fences */
	xs(&x, "g");
	xa(&x, "id", "fences");
	for (size_t i = 0; fs && i < fs->n; i++) {
		const struct tk_fence *fe = &fs->f[i];
		double lx, ly;
		if (fe->kind == TK_FENCE_CIRCLE) {
			double r = fe->radius / 111195.0 * pr.scale;
			lx = px(&pr, fe->clon);
			ly = py(&pr, fe->clat);
			xs(&x, "circle");
			xaf(&x, "cx", "%.1f", lx);
			xaf(&x, "cy", "%.1f", ly);
			xaf(&x, "r", "%.1f", r);
			xa(&x, "class", "fence");
			xe(&x);
			ly -= r + 4;
		} else {
			/* every ring (outer and holes) one subpath: the edges
			 * run ring after ring, a ring ends where the next edge
			 * does not start at the last one's end */
			char pts[80];
			double ymin = INFINITY;
			size_t nv = 0;
			lx = 0;
			xs(&x, "path");
			if (!x.bad && xmlTextWriterStartAttribute(x.w, BAD_CAST "d") < 0)
				x.bad = true;
			for (uint32_t k = 0; k < fe->nedges; k++) {
				const struct tk_edge *ed = &fe->edges[k];
				bool first = k == 0 || ed->x0 != fe->edges[k - 1].x1 ||
				    ed->y0 != fe->edges[k - 1].y1;
				double X = px(&pr, ed->x0), Y = py(&pr, ed->y0);
				snprintf(pts, sizeof(pts), "%s%s%.1f,%.1f", k && first ?
				    "Z " : "", first ? "M" : " L", X, Y);
				xtext(&x, pts);
				lx += X;
				nv++;
				ymin = fmin(ymin, Y);
			}
			xtext(&x, "Z");
			if (!x.bad && xmlTextWriterEndAttribute(x.w) < 0)
				x.bad = true;
			xa(&x, "fill-rule", "evenodd");
			xa(&x, "class", "fence");
			xe(&x);
			lx /= (double)(nv ? nv : 1);
			ly = ymin - 4;
		}
		clean(cb, sizeof(cb), fe->name);
		double w = (double)u8len(cb) * 6.3 + 2;
		lbl_add(&L, lx - w / 2, ly - 11, lx + w / 2, ly + 3);
		xs(&x, "text");
		xaf(&x, "x", "%.1f", lx);
		xaf(&x, "y", "%.1f", ly);
		xa(&x, "class", "flabel");
		xa(&x, "text-anchor", "middle");
		xtext(&x, cb);
		xe(&x);
	}
	xe(&x);

	/* tracks: a polyline per segment, a colour per device */
	xs(&x, "g");
	xa(&x, "id", "tracks");
	for (size_t i = 0; i < t->ndev; i++) {
		const struct tk_tdev *d = t->dev[i];
		const char *col = palette[i % NPALETTE];
		for (size_t k = 0; k < d->npt;) {
			size_t e = k + 1;
			while (e < d->npt && !d->seg_start[e])
				e++;
			xs(&x, "polyline");
			xa(&x, "class", "track");
			xa(&x, "stroke", col);
			if (!x.bad && xmlTextWriterStartAttribute(x.w, BAD_CAST "points") < 0)
				x.bad = true;
			for (size_t p = k; p < e; p++) {
				char pts[64];
				snprintf(pts, sizeof(pts), "%s%.1f,%.1f", p > k ? " " : "",
				    px(&pr, d->pt[p].lon), py(&pr, d->pt[p].lat));
				xtext(&x, pts);
			}
			if (!x.bad && xmlTextWriterEndAttribute(x.w) < 0)
				x.bad = true;
			xe(&x);
			k = e;
		}
		/* start of the day: a filled dot */
		if (d->npt > 0) {
			xs(&x, "circle");
			xaf(&x, "cx", "%.1f", px(&pr, d->pt[0].lon));
			xaf(&x, "cy", "%.1f", py(&pr, d->pt[0].lat));
			xa(&x, "r", "5");
			xa(&x, "fill", col);
			xa(&x, "class", "start");
			xe(&x);
		}
		for (size_t k = 0; k < d->nstop; k++) {
			xs(&x, "circle");
			xaf(&x, "cx", "%.1f", px(&pr, d->stop[k].lon));
			xaf(&x, "cy", "%.1f", py(&pr, d->stop[k].lat));
			xa(&x, "r", "6");
			xa(&x, "class", "stop");
			xa(&x, "stroke", col);
			xe(&x);
		}
	}
	xe(&x);

	/* events on top */
	xs(&x, "g");
	xa(&x, "id", "events");
	for (size_t i = 0; i < t->ndev; i++) {
		const struct tk_tdev *d = t->dev[i];
		for (size_t k = 0; k < d->nev; k++) {
			double X = px(&pr, d->ev[k].lon), Y = py(&pr, d->ev[k].lat);
			svg_diamond(&x, X, Y, 6);
			lbl_add(&L, X - 6, Y - 6, X + 6, Y + 6);
		}
	}
	for (size_t i = 0; i < t->ndev; i++) {
		const struct tk_tdev *d = t->dev[i];
		for (size_t k = 0; k < d->nev; k++) {
			const struct tk_tevent *e = &d->ev[k];
			const char *pre = strcmp(e->kind, "geofenceEnter") == 0 ? "in: " :
			    strcmp(e->kind, "geofenceExit") == 0 ? "out: " : "";
			snprintf(cb, sizeof(cb), "%s%s", pre, e->label);
			svg_label(&x, &L, px(&pr, e->lon), py(&pr, e->lat), "elabel",
			    clean(cb, sizeof(cb), cb));
		}
	}
	xe(&x);
	free(L.b);

	/* scale bar, bottom left of the map */
	{
		double m_per_px = 111195.0 / pr.scale;
		double len = nice_len(m_per_px * mapw / 4);
		double w = len / m_per_px, X = margin, Y = H - margin / 2 - 8;
		xs(&x, "path");
		xaf(&x, "d", "M%.1f %.1fv6h%.1fv-6", X, Y - 6, w);
		xa(&x, "fill", "none");
		xa(&x, "stroke", "#333");
		xa(&x, "stroke-width", "1.5");
		xe(&x);
		if (len >= 1000)
			snprintf(cb, sizeof(cb), "%g km", len / 1000);
		else
			snprintf(cb, sizeof(cb), "%g m", len);
		svg_text(&x, X + w + 6, Y + 2, "small", cb);
	}

	/* legend */
	double lx = W - legend_w + 10, ly = title_h + margin;
	xs(&x, "g");
	xa(&x, "id", "legend");
	xs(&x, "rect");
	xaf(&x, "x", "%.1f", lx - 10);
	xaf(&x, "y", "%.1f", ly - 20);
	xaf(&x, "width", "%.1f", legend_w - 10);
	{
		size_t rows = 0;
		for (double y = ly + 24; rows < t->ndev; rows++, y += 20)
			if (y > H - 170) {
				rows++;
				break;
			}
		double lh = 24 + 20.0 * (double)rows + 22 * 4 + 30 + 16 + 14;
		xaf(&x, "height", "%.1f", fmin(lh, H - ly - margin / 2 + 10));
	}
	xa(&x, "fill", "#ffffff");
	xa(&x, "stroke", "#c8ccc0");
	xe(&x);
	svg_text(&x, lx, ly, "title", "Legend");
	ly += 24;
	size_t shown = 0;
	for (size_t i = 0; i < t->ndev; i++, shown++) {
		if (ly > H - 170) {
			snprintf(cb, sizeof(cb), "... and %zu more devices", t->ndev - i);
			svg_text(&x, lx, ly, "small", cb);
			ly += 20;
			break;
		}
		xs(&x, "path");
		xaf(&x, "d", "M%.1f %.1fh28", lx, ly - 4);
		xa(&x, "class", "track");
		xa(&x, "stroke", palette[i % NPALETTE]);
		xe(&x);
		char id[TK_ID_MAX * 4];
		snprintf(cb, sizeof(cb), "%s (%zu fixes)", clean(id, sizeof(id), t->dev[i]->id),
		    t->dev[i]->npt);
		svg_text(&x, lx + 36, ly, NULL, cb);
		ly += 20;
	}
	/* symbols */
	xs(&x, "rect");
	xaf(&x, "x", "%.1f", lx);
	xaf(&x, "y", "%.1f", ly - 12);
	xa(&x, "width", "28");
	xa(&x, "height", "14");
	xa(&x, "class", "fence");
	xe(&x);
	svg_text(&x, lx + 36, ly, NULL, "geofence");
	ly += 22;
	xs(&x, "circle");
	xaf(&x, "cx", "%.1f", lx + 14);
	xaf(&x, "cy", "%.1f", ly - 4);
	xa(&x, "r", "6");
	xa(&x, "class", "stop");
	xa(&x, "stroke", "#444");
	xe(&x);
	svg_text(&x, lx + 36, ly, NULL, "stop");
	ly += 22;
	xs(&x, "circle");
	xaf(&x, "cx", "%.1f", lx + 14);
	xaf(&x, "cy", "%.1f", ly - 4);
	xa(&x, "r", "5");
	xa(&x, "fill", "#444");
	xa(&x, "class", "start");
	xe(&x);
	svg_text(&x, lx + 36, ly, NULL, "first fix");
	ly += 22;
	svg_diamond(&x, lx + 14, ly - 4, 6);
	svg_text(&x, lx + 36, ly, NULL, "event (alarm, fence)");
	ly += 30;
	snprintf(cb, sizeof(cb), "%zu fix%s, %zu trip%s, %zu stop%s", npts,
	    npts == 1 ? "" : "es", ntrips, ntrips == 1 ? "" : "s", nstops,
	    nstops == 1 ? "" : "s");
	svg_text(&x, lx, ly, "small", cb);
	ly += 16;
	size_t nf = fs ? fs->n : 0;
	snprintf(cb, sizeof(cb), "%zu event%s, %zu fence%s, %lu jump%s dropped", nev,
	    nev == 1 ? "" : "s", nf, nf == 1 ? "" : "s", nout, nout == 1 ? "" : "s");
	svg_text(&x, lx, ly, "small", cb);
	xe(&x);	/* legend */
	xe(&x);	/* svg */
	return xw_close(&x, f, err, errlen);
}
