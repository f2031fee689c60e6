"""Processes the harness starts, and what /proc says about any process.

Every long-running process the harness starts goes through `Registry.spawn`, which
records its PID; `Registry.stop_all` stops them by that PID (SIGTERM to the
process group it leads, SIGKILL after a grace period). Nothing is ever stopped by
name. Not thread-safe: one orchestrating thread.
"""

import os
import resource
import signal
import subprocess
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def raise_nofile(limit=65536):
    """Raises this process's open-file limit (inherited by every child, ztunnel included)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= limit:
        return
    try:  # root may raise the hard limit too
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, max(limit, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    # The command name may contain spaces and parentheses: split after the last ')'.
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_ns(pid):
    """Nanoseconds the process's threads have run on a CPU (first field of each
    /proc/<pid>/task/<tid>/schedstat, the scheduler's run time, exact to the ns).
    /proc/<pid>/stat's utime + stime are sampled at the tick (10 ms here): right on average,
    but coarse for a process that runs in µs-long bursts over a few seconds. A thread that
    exits between two readings drops out (the proxies' threads live as long as they do)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just exited
    return total


def cpu_split(pid):
    """(utime, stime) of the whole process in seconds: user space and kernel apart."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def rss_kb(pid):
    """VmRSS of the process in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def start_time(pid):
    """Field 22 of /proc/<pid>/stat: tells a process from a later one with the same PID."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return int(text[text.rindex(")") + 2:].split()[19])


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
        return text[text.rindex(")") + 2] != "Z"
    except OSError:
        return False


class MachineCpu:
    """Whole-machine busy fraction between two /proc/stat readings."""

    @staticmethod
    def read():
        with open("/proc/stat") as f:
            parts = f.readline().split()[1:]
        values = [int(x) for x in parts]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values), idle

    @staticmethod
    def busy(before, after):
        total = after[0] - before[0]
        idle = after[1] - before[1]
        return (total - idle) / total if total > 0 else 0.0


class CpuWindow:
    """CPU seconds of a fixed set of PIDs and of the machine over a wall-time window."""

    def __init__(self, pids):
        self.pids = list(pids)

    def __enter__(self):
        self.t0 = time.monotonic()
        self.cpu0 = {p: cpu_seconds(p) for p in self.pids}
        self.machine0 = MachineCpu.read()
        return self

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.t0
        self.cpu = {p: cpu_seconds(p) - self.cpu0[p] for p in self.pids if alive(p)}
        self.machine_busy = MachineCpu.busy(self.machine0, MachineCpu.read())
        return False

    def cores(self):
        """Proxy cores used: CPU seconds of all PIDs over wall seconds."""
        return sum(self.cpu.values()) / self.wall if self.wall > 0 else 0.0


class Registry:
    """PIDs of processes the harness started and must stop."""

    def __init__(self, log):
        self.log = log
        self.procs = {}  # pid -> (Popen, description)

    def spawn(self, argv, description, env_extra=None, stdout=None, stderr=None):
        env = dict(os.environ)
        if env_extra:
            env.update(env_extra)
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                stdout=stdout or subprocess.DEVNULL,
                                stderr=stderr or subprocess.DEVNULL,
                                start_new_session=True)
        self.procs[proc.pid] = (proc, description)
        self.log(f"started {description}: pid {proc.pid}")
        return proc

    def stop(self, pid, grace=3.0):
        entry = self.procs.pop(pid, None)
        if entry is None:
            return
        proc, description = entry
        if proc.poll() is None:
            try:
                os.killpg(pid, signal.SIGTERM)  # the session it leads (same id)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
        self.log(f"stopped {description} (pid {pid})")

    def stop_all(self):
        for pid in list(self.procs):
            try:
                self.stop(pid)
            except Exception as e:  # keep going: cleanup must finish
                self.log(f"stopping pid {pid}: {e}")
