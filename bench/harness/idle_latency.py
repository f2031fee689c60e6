"""Holds the CPUs out of deep idle states while a latency workload runs.

On a virtual machine an idle vCPU halts and its wake-up waits for the host to run it
again; at one connection (wrk -c1) every request crosses several such wake-ups, and the
host's delays become much of the latency measured, for every path alike (13:03 run, CPUs
halting: raw p50 85 µs, p99 3.2 ms with p90 116 µs on the 2-vCPU box).

The kernel's PM QoS interface takes a CPU wake-up latency limit from any process that
keeps /dev/cpu_dma_latency open with the limit written to it; with 0 the idle governor
only uses the polling state. The limit is the kernel's, global, and lasts exactly as
long as the file stays open: closing it (or the process dying) restores the machine's
default. With the limit held for a whole run (15:32), raw c=1 went to p50 31-37 µs and
p99 0.85-1.4 ms, but bulk transfer slowed (raw iperf3 15.5 -> 10.2 Gbit/s: polling vCPUs
compete with the busy ones on the host), so the harness holds it for the latency
workloads only.
"""

import os
import struct

QOS_PATH = "/dev/cpu_dma_latency"


class IdleLatencyHold:
    """Context manager: while inside, CPU wake-up latency limit 0 (poll instead of halt).

    `active` tells whether the limit is held; when the device is missing or not writable
    the run goes on without it and `reason` says why (recorded with the results)."""

    def __init__(self, enabled=True, path=QOS_PATH):
        self.enabled = enabled
        self.path = path
        self.fd = None
        self.reason = "disabled (--no-idle-poll)" if not enabled else ""

    @property
    def active(self):
        return self.fd is not None

    def __enter__(self):
        if not self.enabled:
            return self
        try:
            fd = os.open(self.path, os.O_WRONLY)
        except OSError as e:
            self.reason = f"{self.path}: {e.strerror}"
            return self
        try:
            os.write(fd, struct.pack("i", 0))  # the device takes a binary s32, microseconds
        except OSError as e:
            os.close(fd)
            self.reason = f"{self.path}: write: {e.strerror}"
            return self
        self.fd = fd
        self.reason = "held: CPU wake-up latency limit 0 µs (idle CPUs poll)"
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        return False
