/*
 * tk_notify.h: readiness notification for systemd (Type=notify), the
 * documented $NOTIFY_SOCKET datagram protocol (sd_notify(3)) in a few
 * lines instead of a dependency on libsystemd.  The socket is connected
 * once, before the process hardens itself, so later notifications are a
 * plain send().
 */
#ifndef TK_NOTIFY_H
#define TK_NOTIFY_H

/* Connect to $NOTIFY_SOCKET (a path, or "@name" in the abstract
 * namespace).  Returns the descriptor; -1 with errno 0 when the variable
 * is unset (not run by systemd: nothing to do), -1 with errno set when it
 * cannot be reached (ENAMETOOLONG, EAFNOSUPPORT for a vsock address,
 * socket and connect errors). */
int	tk_notify_open(void);
/* Send one state ("READY=1", "STOPPING=1", "STATUS=..."): 0, or -1 with
 * errno.  fd < 0 (no socket) is a success that does nothing. */
int	tk_notify(int fd, const char *state);

#endif
