"""The worker for ``job_mode: in-process``: RQ's SimpleWorker, with its job kept alive as
RQ's forking worker keeps it.

RQ's forking worker starts a fresh process for each job and renews the job's heartbeat every
``job_monitoring_interval`` seconds while it waits for it; a worker killed mid-job stops
renewing, and recovery retries the job about 90 s later. RQ's SimpleWorker runs the job in
its own process and sets the heartbeat once, for the job's whole timeout + 60 s: a killed
worker's article job would wait 240 s. Here a thread renews it at the forking worker's pace
while the job runs. Once the job has outlasted its timeout by a minute (stuck where the
timeout's signal cannot reach it), the thread stops: RQ's heartbeat TTL never reaches past
that point, so the job's entry lapses and recovery treats it as a dead worker's job, as the
forking worker's would be after it killed its work horse.
"""

from __future__ import annotations

import threading
import time

from redis.exceptions import RedisError
from rq.job import Job
from rq.queue import Queue
from rq.worker import BaseWorker, SimpleWorker, WorkerStatus

from monitor.logs import get_logger

log = get_logger("wirewatch.worker")
STUCK_GRACE_SECONDS = 60  # RQ's forking worker kills a work horse this long after its timeout


class JobHeartbeat:
    """Renews a running job's heartbeat on a thread of its own until stopped."""

    def __init__(self, worker: BaseWorker, job: Job) -> None:
        self.worker = worker
        self.job = job
        self.started = time.monotonic()
        self._stopped = threading.Event()
        # Held while a beat is written: stop() returns only once no beat can follow it.
        self._writing = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="wirewatch-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        with self._writing:
            self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        timeout = self.job.timeout
        while not self._stopped.wait(self.worker.job_monitoring_interval):
            with self._writing:
                if self._stopped.is_set():
                    return
                elapsed = time.monotonic() - self.started
                if timeout is not None and timeout > 0 and elapsed > timeout + STUCK_GRACE_SECONDS:
                    log.error(
                        "worker.job_stuck",
                        job_id=self.job.id,
                        seconds=round(elapsed),
                        action="heartbeat stopped: the job is retried as a dead worker's",
                    )
                    return
                try:
                    self.worker.set_current_job_working_time(elapsed)
                    self.worker.maintain_heartbeats(self.job)
                except RedisError as exc:  # the next beat may get through; the job goes on
                    log.warning("worker.heartbeat_failed", job_id=self.job.id, error=str(exc))


class InProcessWorker(SimpleWorker):
    """Runs each job in the worker process, with the forking worker's heartbeats."""

    _heartbeat: JobHeartbeat | None = None

    def execute_job(self, job: Job, queue: Queue) -> None:
        self.current_job_working_time = 0  # the previous job's, which sizes the first TTL
        self.prepare_execution(job)
        self._heartbeat = JobHeartbeat(self, job)
        self._heartbeat.start()
        try:
            self.perform_job(job, queue)
        finally:
            self._stop_heartbeat()
        self.set_state(WorkerStatus.IDLE)

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        # RQ's bookkeeping of the ended job starts here; a beat after it would write the
        # ended job's execution back into Redis, where nothing removes it but its expiry.
        self._stop_heartbeat()
        super().handle_execution_ended(job, queue, heartbeat_ttl)

    @property
    def heartbeat_running(self) -> bool:
        """Whether a job's heartbeat is being renewed now."""
        return self._heartbeat is not None and self._heartbeat.running

    def get_heartbeat_ttl(self, job: Job) -> int:
        return BaseWorker.get_heartbeat_ttl(self, job)  # not SimpleWorker's: the whole timeout

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
