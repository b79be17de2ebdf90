#!/usr/bin/env python3
"""A tiny stand-in for tk-listen that answers gt06 and h02 devices wrongly
or not at all, for tk-sim --check's tests.

Binds 127.0.0.1 port 0 (TCP, or UDP with --udp), writes the port to
--port-file, and for every complete frame it receives answers by --mode:
  silent      nothing (the connection stays open)
  gt06-serial the gt06 ACK with the serial plus one (CRC right for it)
  gt06-crc    the gt06 ACK with a CRC off by one bit
  h02-skew    the h02 V4 answer an hour off (a server in another time zone)
Stops on SIGTERM.  Loopback only; every frame is bounded (4096 bytes).
"""
import argparse
import os
import selectors
import signal
import socket
import sys
import time


def crc_x25(data):
    c = 0xFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x8408 if c & 1 else c >> 1
    return c ^ 0xFFFF


def gt06_ack(frame, mode):
    typ = frame[3]
    serial = frame[-6] << 8 | frame[-5]
    if mode == "gt06-serial":
        serial = (serial + 1) & 0xFFFF
    body = bytes([0x05, typ, serial >> 8, serial & 0xFF])
    c = crc_x25(body)
    if mode == "gt06-crc":
        c ^= 1
    return b"\x78\x78" + body + bytes([c >> 8, c & 0xFF]) + b"\r\n"


def h02_answer(frame):
    f = frame.decode("ascii", "replace").rstrip("#").split(",")
    if len(f) < 3 or f[2] != "V1":
        return b""
    t = time.strftime("%Y%m%d%H%M%S", time.gmtime(time.time() + 3600))
    return ("*%s,%s,V4,V1,%s#" % (f[0][1:], f[1], t)).encode()


def frames(buf):
    """Split complete frames off buf: (frames, rest)."""
    out = []
    while buf:
        if buf[:2] == b"\x78\x78":
            if len(buf) < 3 or len(buf) < buf[2] + 5:
                break
            n = buf[2] + 5
        elif buf[:1] == b"*":
            n = buf.find(b"#") + 1
            if n == 0:
                break
        else:
            buf = buf[1:]
            continue
        out.append(buf[:n])
        buf = buf[n:]
    return out, buf[-4096:]


def answer(frame, mode):
    if mode == "silent":
        return b""
    if frame[:2] == b"\x78\x78":
        return gt06_ack(frame, mode)
    return h02_answer(frame) if mode == "h02-skew" else b""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--mode", required=True,
                    choices=["silent", "gt06-serial", "gt06-crc", "h02-skew"])
    ap.add_argument("--udp", action="store_true")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *x: sys.exit(0))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if a.udp else socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    if not a.udp:
        s.listen(64)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(a.port_file + ".tmp", a.port_file)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    bufs = {}
    while True:
        for key, _ in sel.select():
            c = key.fileobj
            if a.udp:
                data, peer = c.recvfrom(4096)
                for fr in frames(data)[0]:
                    r = answer(fr, a.mode)
                    if r:
                        c.sendto(r, peer)
            elif c is s:
                conn, _ = s.accept()
                bufs[conn] = b""
                sel.register(conn, selectors.EVENT_READ)
            else:
                try:
                    data = c.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(c)
                    c.close()
                    del bufs[c]
                    continue
                got, bufs[c] = frames(bufs[c] + data)
                for fr in got:
                    r = answer(fr, a.mode)
                    if r:
                        c.sendall(r)


if __name__ == "__main__":
    main()
