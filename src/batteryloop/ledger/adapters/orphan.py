"""A forked helper process ends when the process that forked it is gone.

``append_bulk``'s prepare-ahead helper (a ``ProcessPoolExecutor`` worker, forked) waits for work on a pipe
whose write end it inherited itself: if its parent is killed (SIGKILL, the OOM killer), the helper never
reads end-of-file and waits for ever, holding a copy of the parent's whole input. :func:`exit_with_parent`,
called in the helper's initializer, starts a daemon thread that ends the helper once its parent has gone
(the helper is then re-parented, so its parent process id changes).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

PARENT_POLL_INTERVAL_S = 0.2  # how soon an orphaned helper notices; costs one getppid() per interval


def exit_with_parent() -> None:
    """In a process started by :mod:`multiprocessing`: exit as soon as the parent process is gone."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return
    parent_pid = parent.pid

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_INTERVAL_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
