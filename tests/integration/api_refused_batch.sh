#!/usr/bin/env bash
# A refused peer closed while its own event waits in the same epoll batch (the API server, src/api/server.c). Past
# 32 refused peers drained at once the oldest is closed when the next is turned away; that happens inside the
# listener's event, and the oldest's own event may come later in the same batch. Made to happen every time: 32
# peers of a uid that may not use the API (nobody) are refused (403) and left open; api_fake is stopped; a 33rd
# connects (the listener is ready first) and then the oldest sends a byte (ready second); api_fake is let go.
# The server must close the oldest, refuse the newcomer with 403 and serve root on: before the fix it freed the
# oldest twice (glibc: "double free detected in tcache 2"; ASan: heap-use-after-free).
# No cgroups: the same on v1 and v2.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root"
FAKE=$HELPERS/api_fake
[[ -x $FAKE ]] || fail "$FAKE is missing (build the api_fake target)"
chmod 0755 "$T_DIR"
sock=$T_DIR/fake.sock
# glibc reports heap corruption on the tty unless told to use stderr.
nogroup=$(getent group nogroup | cut -d: -f3)
LIBC_FATAL_STDERR_=1 "$FAKE" "$sock" 4096 --gid "$nogroup" --timeout 600 2> "$T_DIR/fake.log" &
fake=$!
T_PIDS+=("$fake")
wait_for 20 "api_fake" curl -sf --max-time 5 --unix-socket "$sock" http://localhost/usbd/status -o /dev/null

# What the log says of a crash: a sanitizer's report, glibc's, or the last line.
why() { grep -m1 -E "ERROR: |free\(\)|corrupt" "$T_DIR/fake.log" || tail -1 "$T_DIR/fake.log"; }

out=$(python3 - "$sock" "$fake" "$(id -u nobody)" "$nogroup" <<'PY'
import os, signal, socket, sys, time
path, pid, uid, gid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def connect_as_nobody():
    # The server reads the peer's credentials of connect time: nobody's, while root keeps its saved uid.
    os.setegid(gid); os.seteuid(uid)
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(path)
        return s
    finally:
        os.seteuid(0); os.setegid(0)

def answer(s):
    data = b""
    while True:
        try:
            got = s.recv(4096)
        except ConnectionResetError:
            return data
        if not got:
            return data
        data += got

def state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]

def wchan(pid):
    with open("/proc/%d/wchan" % pid) as f:
        return f.read()

def wait_idle(pid):
    # Stopped only once it has finished with the last refusal and waits for events again (a stop inside its accept
    # loop would let it accept the newcomer in that same loop, before the oldest's byte is seen).
    deadline, calm = time.monotonic() + 30, 0
    while calm < 3:
        if time.monotonic() > deadline:
            sys.exit("api_fake never waited for events: %s" % wchan(pid))
        calm = calm + 1 if wchan(pid) == "do_epoll_wait" else 0
        time.sleep(0.02)

peers = []
for i in range(32):
    s = connect_as_nobody()
    a = answer(s)            # the server shuts its side after the 403: the answer ends
    if not a.startswith(b"HTTP/1.1 403"):
        sys.exit("peer %d got %r, expected a 403" % (i, a[:80]))
    peers.append(s)
wait_idle(pid)
os.kill(pid, signal.SIGSTOP)
try:
    deadline = time.monotonic() + 30
    while state(pid) != "T":
        if time.monotonic() > deadline:
            sys.exit("api_fake did not stop")
        time.sleep(0.01)
    newcomer = connect_as_nobody()   # the listener becomes ready first
    peers[0].send(b"x")              # then the oldest refused peer
finally:
    os.kill(pid, signal.SIGCONT)
a = answer(newcomer)
if not a.startswith(b"HTTP/1.1 403"):
    sys.exit("the newcomer got %r, expected a 403" % a[:80])
peers[0].settimeout(30)
try:
    rest = peers[0].recv(4096)
except ConnectionResetError:
    rest = b""
if rest:
    sys.exit("the oldest refused peer read %r after its answer, expected its end" % rest[:80])
print("newcomer 403, oldest closed")
PY
) || fail "the refused peers: $out"
echo "$out"
if ! kill -0 "$fake" 2>/dev/null; then
  rc=0
  wait "$fake" || rc=$?
  fail "api_fake died (status $rc): $(why)"
fi
curl -sf --max-time 10 --unix-socket "$sock" http://localhost/usbd/status -o /dev/null ||
  fail "root is not served after the batch: $(why)"
pass "a refused peer closed by a newcomer's refusal in the same epoll batch is closed once; root is served on"
