#!/usr/bin/python3
"""privsep-attack.py DROP CORE_DIR -- run as the attacker user by
privsep.sh: start the setgid drop step with a pipe on stdin, half a
record written to it, then try /proc/PID/{environ,mem}, PTRACE_ATTACH and
PTRACE_SEIZE on it, and make it dump core (RLIMIT_CORE unlimited,
SIGSEGV and SIGABRT).  A control process of our own (not set-id) gets
the same treatment, to show that each method works where it is allowed.
Prints one "what: result" line each."""
import ctypes
import os
import resource
import signal
import subprocess
import sys
import time

PTRACE_ATTACH, PTRACE_DETACH = 16, 17
PTRACE_SEIZE, PTRACE_INTERRUPT = 0x4206, 0x4207
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                        ctypes.c_void_p]


def ptrace(req, pid):
    r = libc.ptrace(req, pid, None, None)
    return "ok" if r == 0 else os.strerror(ctypes.get_errno())


def unlimited():
    resource.setrlimit(resource.RLIMIT_CORE,
                       (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def start(argv):
    return subprocess.Popen(argv, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=sys.argv[2],
                            preexec_fn=unlimited, env={"ATTACK": "1"})


def attack(name, argv, sig):
    p = start(argv)
    p.stdin.write(b"postseal-drop 1\npostseal-queue 1\nid 00000000000000000000\n"
                  b"account *\nfrom <>\nrcpt <rcpt@example.org>\nbody8bit 0\n"
                  b"smtputf8 0\nsize 100000\ncreated 1\nattempts 0\nnext 1\n"
                  b"held f=0 B=- F=\nend\nSubject: half\n\nhalf a body\n")
    p.stdin.flush()
    time.sleep(1)
    for f in ("environ", "mem"):
        try:
            with open("/proc/%d/%s" % (p.pid, f), "rb") as fh:
                if f == "mem":
                    # The first mapping, as /proc/PID/maps names it.
                    with open("/proc/%d/maps" % p.pid) as maps:
                        fh.seek(int(maps.readline().split("-")[0], 16))
                if len(fh.read(4096)) == 0:
                    raise OSError(0, "empty")
            res = "read"
        except OSError as e:
            res = e.strerror
        print("%s %s: %s" % (name, f, res))
    r = ptrace(PTRACE_SEIZE, p.pid)
    print("%s seize: %s" % (name, r))
    if r == "ok":
        ptrace(PTRACE_INTERRUPT, p.pid)
        os.waitpid(p.pid, 0)
        ptrace(PTRACE_DETACH, p.pid)
    r = ptrace(PTRACE_ATTACH, p.pid)
    print("%s attach: %s" % (name, r))
    if r == "ok":
        os.waitpid(p.pid, 0)
        ptrace(PTRACE_DETACH, p.pid)
    os.kill(p.pid, sig)
    _, st = os.waitpid(p.pid, 0)
    p.returncode = 0
    print("%s signal %d: %s" % (name, os.WTERMSIG(st) if os.WIFSIGNALED(st)
                                else -1,
                                "core" if os.WCOREDUMP(st) else "no core"))
    # core_pattern "core" and the like: a file in the cwd, kept by name.
    core = os.path.join(sys.argv[2], "core")
    print("%s core file: %s" % (name, "yes" if os.path.exists(core) else "no"))
    if os.path.exists(core):
        os.rename(core, "%s.%s.%d" % (core, name, sig))


for sig in (signal.SIGSEGV, signal.SIGABRT):
    attack("drop", [sys.argv[1]], sig)
    attack("control", ["/bin/cat"], sig)
