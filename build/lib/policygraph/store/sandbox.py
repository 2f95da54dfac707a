"""Confinement of a query worker process: no network, bounded memory, a deep stack.

The request check (inspect.py) is the first layer against SERVICE; this is the second, for the day
the check is wrong. On Linux a worker, before it opens the store:

1. moves into a network namespace of its own (``unshare(CLONE_NEWNET)``, as root; otherwise with a
   user namespace where the kernel allows one): it holds only a loopback interface that is down,
   so no address, the host's 127.0.0.1 included, can be reached;
2. installs a seccomp filter (libseccomp, through ctypes) under which ``socket()`` and
   ``socketpair()`` fail with EACCES for every family but AF_UNIX, and io_uring cannot be set up.
   This works without privileges, so it holds where namespaces are not allowed.

Each layer that could be applied is reported to the parent and shown by /health; on a system where
neither applies (not Linux, no libseccomp, no namespaces) the worker runs unconfined and the parent
logs a warning. The pipe to the parent is an AF_UNIX socket opened before, so it keeps working.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import socket
import sys
import threading
from collections.abc import Callable

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_NE = 1
QUERY_STACK = 256 << 20  # Oxigraph's parser and evaluator recurse: 8 MiB overflows at ~2,000 nested "{"


def _scmp_act_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def enter_network_namespace() -> bool:
    """A network namespace of our own, with nothing in it; False where the kernel refuses."""
    if not sys.platform.startswith("linux"):
        return False
    libc = _libc()
    if libc.unshare(CLONE_NEWNET) == 0:
        return True
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        return False
    try:  # keep our own ids inside the user namespace (files stay readable as before)
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"{uid} {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"{gid} {gid} 1")
    except OSError:
        pass
    return True


def _libseccomp() -> ctypes.CDLL | None:
    """libseccomp with the signatures used here, or None where it is missing."""
    name = ctypes.util.find_library("seccomp") if sys.platform.startswith("linux") else None
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_ArgCmp)]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def install_socket_filter() -> bool:
    """seccomp: only AF_UNIX sockets may be made, and no io_uring; False where libseccomp is missing."""
    lib = _libseccomp()
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW) if lib else None
    if lib is None or not ctx:
        return False
    try:
        not_unix = _ArgCmp(0, SCMP_CMP_NE, socket.AF_UNIX, 0)
        for call in (b"socket", b"socketpair"):
            nr = lib.seccomp_syscall_resolve_name(call)
            if nr < 0 or lib.seccomp_rule_add_array(ctx, _scmp_act_errno(errno.EACCES), nr, 1,
                                                    ctypes.byref(not_unix)) != 0:
                return False
        nr = lib.seccomp_syscall_resolve_name(b"io_uring_setup")
        if nr >= 0 and lib.seccomp_rule_add_array(ctx, _scmp_act_errno(errno.EPERM), nr, 0, None) != 0:
            return False
        return lib.seccomp_load(ctx) == 0
    finally:
        lib.seccomp_release(ctx)


def isolate_network() -> tuple[str, ...]:
    """Both layers, as far as this system allows; the names of those applied."""
    applied = []
    if enter_network_namespace():
        applied.append("network-namespace")
    if install_socket_filter():
        applied.append("seccomp")
    return tuple(applied)


def resident_bytes(pid: int) -> int | None:
    """A process's resident memory (Linux /proc), or None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):  # no /proc or no sysconf: not Linux
        return None


def private_bytes(pid: int) -> int | None:
    """Memory a process holds alone (Linux smaps_rollup: Private_Clean + Private_Dirty): for a forked
    worker, what it allocated plus the store pages it has written to (copy-on-write made them its
    own). A read walks the page tables: about a millisecond for a loaded store, so read it seldom."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            own = ("Private_Clean:", "Private_Dirty:")
            return sum(int(line.split()[1]) for line in f if line.startswith(own)) << 10
    except (OSError, ValueError, IndexError):
        return None


def trim_heap() -> None:
    """Give the heap's free pages back to the system (glibc's malloc_trim; nothing elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def cap_data_segment(extra: int) -> None:
    """A hard backstop under the parent's memory watch: the process's data segment may grow by at
    most ``extra`` bytes more than it has now (allocation past it fails and the worker ends)."""
    try:
        import resource  # noqa: PLC0415 - POSIX only

        with open("/proc/self/status") as f:
            data_kb = next(int(line.split()[1]) for line in f if line.startswith("VmData:"))
        limit = data_kb * 1024 + extra
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    except (ImportError, OSError, ValueError, StopIteration):
        pass


def run_with_deep_stack(target: Callable[..., None], *args: object) -> None:
    """Run ``target`` in a thread with a stack deep enough for the recursion the query limits allow."""
    threading.stack_size(QUERY_STACK)
    t = threading.Thread(target=target, args=args, name="policygraph-query")
    t.start()
    t.join()
