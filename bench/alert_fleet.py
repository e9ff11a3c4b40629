"""The processes a benchmark run starts, and the CPU they (and the machine) use.

Every process is started in its own session, so that a Ctrl-C on the terminal reaches the
benchmark alone, which then stops its processes one by one, by pid. CPU time is read from
Linux's /proc: a process's own time plus that of the children it reaped (an RQ worker's work
horses), and the whole machine's busy time, so that a run on a shared machine can say how
much of the CPU its neighbours took.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

STOP_GRACE = 30.0
"""Seconds a process has to exit after SIGTERM (an RQ worker finishes its job) before SIGKILL."""
_TICK = os.sysconf("SC_CLK_TCK")


class FleetError(RuntimeError):
    """A process of the run did not start, or exited while the run needed it."""


@dataclass
class Fleet:
    """The processes of one run, by name, with a log file each in ``logs``."""

    logs: Path
    cwd: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    files: list[BinaryIO] = field(default_factory=list)

    def start(self, name: str, command: list[str], *, announces: bool = False) -> str:
        """Start ``command``; with ``announces``, wait for its first stdout line and return it."""
        log = (self.logs / f"{name}.log").open("wb")
        self.files.append(log)
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE if announces else log,
            stderr=log if announces else subprocess.STDOUT,
            cwd=self.cwd,
            start_new_session=True,
        )
        self.processes[name] = process
        if not announces:
            return ""
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()  # blocks until it speaks or exits
        if not line:
            raise FleetError(f"{name} did not start; see {log.name}")
        return line

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise FleetError(f"{name} exited with {process.returncode}; see {self.logs}")

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    def stop(self) -> None:
        """SIGTERM each running process, SIGKILL its process group after the grace period."""
        running = [p for p in self.processes.values() if p.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for process in self.processes.values():
            if process.stdout is not None:
                process.stdout.close()
        for log in self.files:
            log.close()


def process_cpu(pid: int) -> float:
    """CPU seconds of a process and of the children it reaped; 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, …
    return sum(int(v) for v in fields[11:15]) / _TICK  # utime, stime, cutime, cstime


def process_memory_mb(pid: int) -> dict[str, float]:
    """A process's resident memory now and at its peak (VmRSS, VmHWM), in MB; empty when it
    is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    kib = dict(line.split(":", 1) for line in status.splitlines() if line.startswith("Vm"))
    return {
        name: round(int(kib[field].split()[0]) / 1024, 1)
        for name, field in (("rss", "VmRSS"), ("peak", "VmHWM"))
        if field in kib
    }


def machine_busy_cpu() -> float:
    """Busy CPU seconds of the whole machine since boot, summed over CPUs."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / _TICK  # less idle and iowait


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far by named processes (and this one, as "bench"), and the machine."""

    wall: float
    processes: dict[str, float]
    machine_busy: float

    @classmethod
    def take(cls, pids: dict[str, int]) -> CpuSample:
        processes = {name: process_cpu(pid) for name, pid in pids.items()}
        processes["bench"] = time.process_time()
        return cls(time.time(), processes, machine_busy_cpu())
