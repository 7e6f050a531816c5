"""The APScheduler equivalent of ``das-actors start`` with one job due at once (start-up benchmark).

``python -m benchmarks.aps_startup MARKER``: a BackgroundScheduler with a process pool of 2
and one job that writes its start time into MARKER; runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import signal
import sys
import threading


def main(marker: str) -> int:
    from apscheduler.executors.pool import ProcessPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    from benchmarks.aps_jobs import touch

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    scheduler = BackgroundScheduler(executors={"default": ProcessPoolExecutor(2)})
    scheduler.add_job(touch, args=[marker], id="first")  # no trigger: one run, due now
    scheduler.start()
    while not stop.wait(1.0):
        pass
    scheduler.shutdown(wait=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
