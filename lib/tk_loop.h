/*
 * tk_loop.h: the event-loop seam.  Single-threaded, level-triggered, one
 * callback per file descriptor.  epoll on Linux; the interface is small
 * enough that poll(2) or kqueue(2) could stand behind it.
 */
#ifndef TK_LOOP_H
#define TK_LOOP_H

#include <stdint.h>

#define TK_EV_READ	0x1u
#define TK_EV_WRITE	0x2u
#define TK_EV_ERROR	0x4u	/* delivered, never requested: hang-up or error */

struct tk_loop;
typedef void (*tk_loop_fn)(struct tk_loop *, int fd, unsigned events, void *arg);

struct tk_loop	*tk_loop_new(void);
void		 tk_loop_free(struct tk_loop *);
/* Watch fd for events (TK_EV_READ|TK_EV_WRITE, or 0 to keep it registered
 * but quiet).  0, or -1 with errno set. */
int		 tk_loop_add(struct tk_loop *, int fd, unsigned events, tk_loop_fn, void *arg);
int		 tk_loop_mod(struct tk_loop *, int fd, unsigned events);
/* Forget fd (call before close(2)). */
int		 tk_loop_del(struct tk_loop *, int fd);
unsigned	 tk_loop_events(const struct tk_loop *, int fd);
/* Wait up to timeout_ms (-1: forever) and dispatch.  Returns the number of
 * callbacks run, 0 on timeout or EINTR, -1 on error. */
int		 tk_loop_once(struct tk_loop *, int timeout_ms);

/* Monotonic and wall clocks in milliseconds. */
int64_t		 tk_mono_ms(void);
int64_t		 tk_wall_ms(void);

#endif
