/*
 * tk_fleet.h: one fleet over many tk-listen instances (the bus's side of
 * tk_server).  Between a tk_server and a tk_nats connection:
 *
 *   - the registry: every device online here is a key of the tk_devices
 *     bucket (its value: tk_fleet_value below), written when the device
 *     comes online, again at most every dev_refresh_ms while it reports
 *     (last-seen), and when it goes offline here.  Each write after the
 *     first is conditional on the key's revision this instance wrote
 *     last, so an instance never overwrites a newer registration made
 *     elsewhere;
 *   - moves: when another instance registers a device this one holds (a
 *     newer revision of its key), the session here is stale and is closed
 *     ("replaced");
 *   - commands: control requests (tk-cmd's protocol) on tk.ctl.<instance>,
 *     answered by the server; commands queued in the tk_cmdq bucket are
 *     mirrored into the server's queue, sent from whichever instance the
 *     device is live on, then deleted from the bucket.
 *
 * Everything runs on the loop's thread; nothing here prints or exits.
 */
#ifndef TK_FLEET_H
#define TK_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "tk_record.h"
#include "tk_server.h"

struct tk_nats;
struct tk_fleet;

/* A registry value (the JSON of a tk_devices key), parsed. */
struct tk_fleet_value {
	char		 instance[128];
	char		 dialect[16];
	char		 transport[8];
	char		 peer[64];
	int64_t		 since, last;	/* wall ms */
	uint64_t	 frames;
	bool		 online;
};

/* Append the JSON of v to b: 0, or -1 when out of memory. */
int	tk_fleet_value_json(struct tk_buf *b, const struct tk_fleet_value *v);
/* Parse a registry value: 0, or -1 when it is not one. */
int	tk_fleet_value_parse(const char *json, size_t len, struct tk_fleet_value *v);

/* A queued command (the JSON of a tk_cmdq key "<id>.<qid>"). */
int	tk_fleet_cmd_json(struct tk_buf *b, const char *id, int64_t expires,
	    const uint8_t *p, size_t n);
/* Parse one: 0 with the bytes in p (*n of them, at most cap), or -1. */
int	tk_fleet_cmd_parse(const char *json, size_t len, int64_t *expires, uint8_t *p,
	    size_t cap, size_t *n);
/* Split a tk_cmdq key "<id>.<qid>": 0, or -1 when it is not one. */
int	tk_fleet_cmd_key(const char *key, char *id, size_t idcap, uint64_t *qid);

/*
 * The fleet of instance name over bus.  tk_fleet_hook() fills the server
 * options' registry hooks (before tk_server_new); tk_fleet_start() gives
 * the server and subscribes to the control subject.  NULL / -1 with the
 * reason in err.
 */
struct tk_fleet	*tk_fleet_new(struct tk_nats *bus, const char *name, char *err,
		    size_t errlen);
void		 tk_fleet_hook(struct tk_fleet *, struct tk_server_opts *, int64_t refresh_ms);
int		 tk_fleet_start(struct tk_fleet *, struct tk_server *, char *err, size_t errlen);
/* About every second: retries, and the watches once the buckets exist. */
void		 tk_fleet_tick(struct tk_fleet *);
/* Registry writes not yet acknowledged (wait for 0 before exiting). */
size_t		 tk_fleet_pending(const struct tk_fleet *);
/* "<prefix><name> <value>\n" counters. */
int		 tk_fleet_stats(const struct tk_fleet *, struct tk_buf *, const char *prefix);
void		 tk_fleet_free(struct tk_fleet *);

#endif
