#!/usr/bin/env python3
"""spot_flood: consumers that try to make the spot store's worker hold memory.

  spot_flood.py PORT big N MIB   N clients each send '*1048576' and then 2 MiB bulks, up to MIB MiB each, and never
                                 finish the request; the connections stay open until stdin closes. Prints one line
                                 per client: the bytes it got in and what the server answered ('' if nothing).
  spot_flood.py PORT exists N    one client sends EXISTS with N one-byte keys, reads the integer reply, prints it,
                                 and stays connected (idle) until stdin closes.
"""
import select, socket, sys, time

ARGS = 1048576
BULK = 2 * 1024 * 1024 - 16


def big(port, n, mib):
    chunk = b"$%d\r\n" % BULK + b"x" * BULK + b"\r\n"
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        socks.append([s, b"*%d\r\n" % ARGS, 0, b"", False])
    limit, deadline = mib << 20, time.time() + 120
    while time.time() < deadline:
        live = [c for c in socks if not c[4] and c[2] < limit]
        if not live:
            break
        _, w, _ = select.select([c[0] for c in live], [c[0] for c in live], [], 1)
        for c in live:
            s = c[0]
            try:
                got = s.recv(4096)
                if got:
                    c[3] += got
                else:
                    c[4] = True
                    continue
            except BlockingIOError:
                pass
            except OSError:
                c[4] = True
                continue
            if s not in w:
                continue
            if not c[1]:
                c[1] = chunk
            try:
                sent = s.send(c[1])
                c[1], c[2] = c[1][sent:], c[2] + sent
            except BlockingIOError:
                pass
            except OSError:
                c[4] = True
    for c in socks:
        try:
            c[0].setblocking(True)
            c[0].settimeout(0.5)
            c[3] += c[0].recv(4096)
        except OSError:
            pass
        print(c[2], repr(c[3].decode(errors="replace").strip()))
    sys.stdout.flush()
    sys.stdin.read()


def exists(port, n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"*%d\r\n$6\r\nEXISTS\r\n" % (n + 1) + b"$1\r\nk\r\n" * n)
    reply = b""
    while not reply.endswith(b"\r\n"):
        got = s.recv(4096)
        if not got:
            break
        reply += got
    print(reply.decode().strip())
    sys.stdout.flush()
    sys.stdin.read()


if __name__ == "__main__":
    port, mode = int(sys.argv[1]), sys.argv[2]
    if mode == "big":
        big(port, int(sys.argv[3]), int(sys.argv[4]))
    else:
        exists(port, int(sys.argv[3]))
