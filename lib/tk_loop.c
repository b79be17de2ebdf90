/* tk_loop.c: the event loop, over epoll(7). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "tk_loop.h"

struct slot {
	tk_loop_fn	 fn;
	void		*arg;
	unsigned	 events;
	unsigned	 live;
};

struct tk_loop {
	int		 ep;
	struct slot	*slots;
	size_t		 nslots;
	struct epoll_event evs[256];
};

struct tk_loop *
tk_loop_new(void)
{
	struct tk_loop *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0) {
		free(l);
		return NULL;
	}
	return l;
}

void
tk_loop_free(struct tk_loop *l)
{
	if (l == NULL)
		return;
	close(l->ep);
	free(l->slots);
	free(l);
}

static uint32_t
to_epoll(unsigned ev)
{
	return (ev & TK_EV_READ ? EPOLLIN : 0) | (ev & TK_EV_WRITE ? EPOLLOUT : 0);
}

int
tk_loop_add(struct tk_loop *l, int fd, unsigned events, tk_loop_fn fn, void *arg)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if ((size_t)fd >= l->nslots) {
		size_t n = l->nslots ? l->nslots : 64;
		while (n <= (size_t)fd)
			n *= 2;
		struct slot *s = realloc(l->slots, n * sizeof(*s));
		if (s == NULL)
			return -1;
		memset(s + l->nslots, 0, (n - l->nslots) * sizeof(*s));
		l->slots = s;
		l->nslots = n;
	}
	struct epoll_event e = {.events = to_epoll(events), .data.fd = fd};
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &e) != 0)
		return -1;
	l->slots[fd] = (struct slot){fn, arg, events, 1};
	return 0;
}

int
tk_loop_mod(struct tk_loop *l, int fd, unsigned events)
{
	if (fd < 0 || (size_t)fd >= l->nslots || !l->slots[fd].live) {
		errno = ENOENT;
		return -1;
	}
	if (l->slots[fd].events == events)
		return 0;
	struct epoll_event e = {.events = to_epoll(events), .data.fd = fd};
	if (epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &e) != 0)
		return -1;
	l->slots[fd].events = events;
	return 0;
}

int
tk_loop_del(struct tk_loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nslots || !l->slots[fd].live) {
		errno = ENOENT;
		return -1;
	}
	l->slots[fd].live = 0;
	return epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
}

unsigned
tk_loop_events(const struct tk_loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nslots || !l->slots[fd].live)
		return 0;
	return l->slots[fd].events;
}

int
tk_loop_once(struct tk_loop *l, int timeout_ms)
{
	int n = epoll_wait(l->ep, l->evs, (int)(sizeof(l->evs) / sizeof(l->evs[0])),
	    timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	int ran = 0;
	for (int i = 0; i < n; i++) {
		int fd = l->evs[i].data.fd;
		/* a callback may have removed (or replaced) this fd meanwhile */
		if ((size_t)fd >= l->nslots || !l->slots[fd].live)
			continue;
		uint32_t e = l->evs[i].events;
		unsigned ev = (e & EPOLLIN ? TK_EV_READ : 0) | (e & EPOLLOUT ? TK_EV_WRITE : 0) |
		    (e & (EPOLLERR | EPOLLHUP) ? TK_EV_ERROR : 0);
		struct slot s = l->slots[fd];
		s.fn(l, fd, ev, s.arg);
		ran++;
	}
	return ran;
}

int64_t
tk_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
tk_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
