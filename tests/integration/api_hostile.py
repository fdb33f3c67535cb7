#!/usr/bin/env python3
"""Hostile control-API clients for the api_*_clients.sh tests (not a test itself: ctest runs only *.sh).

Usage: api_hostile.py MODE SOCK N READY_FILE STOP_FILE

N threads each keep one connection to SOCK open, reconnecting whenever the server closes or refuses it, until
STOP_FILE exists; then the counts are printed on one line. READY_FILE is created once every thread has reached
its hostile state at least once.

  pipeline: send GET requests back to back and never read an answer. A thread is hostile once its own send
            buffer is full and answers wait unread in its receive queue (so the server has accepted it and is
            stuck writing to it). It then waits, still without reading, until the server hangs up.
  trickle:  send a request line, then one header byte a second, never finishing the head. A thread is hostile
            once connected and its first byte is sent. A refusal (any answer, or the server hanging up) is
            counted and retried after a second.
"""
import errno
import fcntl
import os
import select
import socket
import sys
import termios
import threading
import time

MODE, PATH, N, READY, STOP = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
REQ = b"GET /usbd/status HTTP/1.1\r\nHost: localhost\r\n\r\n" * 64
lock = threading.Lock()
counts = {"connects": 0, "hostile": 0, "closed_by_server": 0, "refused_answers": 0}
hostile_once = set()


def bump(key, thread=None):
    with lock:
        counts[key] += 1
        if thread is not None and thread not in hostile_once:
            hostile_once.add(thread)
            if len(hostile_once) == N:
                open(READY, "w").close()


def stopping():
    return os.path.exists(STOP)


def unread(s):
    buf = bytearray(4)
    fcntl.ioctl(s.fileno(), termios.FIONREAD, buf)
    return int.from_bytes(buf, sys.byteorder)


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    while not stopping():
        try:
            s.connect(PATH)
            bump("connects")
            return s
        except socket.timeout:
            continue
        except OSError:
            time.sleep(0.1)
    s.close()
    return None


def hung_up(s, timeout_ms):
    """Polls without reading: True once the server has closed its end."""
    p = select.poll()
    p.register(s, select.POLLHUP | select.POLLRDHUP)
    return any(ev & (select.POLLHUP | select.POLLRDHUP) for _, ev in p.poll(timeout_ms))


def fill(s):
    """Sends requests until the socket takes no more for a second. False when the server hung up."""
    s.setblocking(False)
    while not stopping():
        try:
            s.send(REQ)
            continue
        except BlockingIOError:
            pass
        except OSError:
            return False
        p = select.poll()
        p.register(s, select.POLLOUT | select.POLLHUP)
        ev = p.poll(1000)
        if not ev:
            return True
        if ev[0][1] & select.POLLHUP:
            return False
    return True


def pipeline(thread):
    while not stopping():
        s = connect()
        if s is None:
            return
        with s:
            # Stalled: our sends are blocked and the answers pile up unread.
            while not stopping() and fill(s):
                if unread(s) > 0:
                    bump("hostile", thread)
                    while not stopping() and not hung_up(s, 1000):
                        pass
                    break
            if not stopping():
                bump("closed_by_server")


def trickle(thread):
    while not stopping():
        s = connect()
        if s is None:
            return
        with s:
            try:
                s.sendall(b"GET /usbd/status HTTP/1.1\r\nHost: localhost\r\n")
                bump("hostile", thread)
                while not stopping():
                    s.sendall(b"X")
                    r, _, _ = select.select([s], [], [], 1)
                    if r:
                        break
            except OSError as e:
                if e.errno not in (errno.EPIPE, errno.ECONNRESET):
                    raise
            if not stopping():
                bump("refused_answers")
                time.sleep(1)


threads = [threading.Thread(target=pipeline if MODE == "pipeline" else trickle, args=(i,), daemon=True)
           for i in range(N)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(" ".join(f"{k}={v}" for k, v in counts.items()), flush=True)
