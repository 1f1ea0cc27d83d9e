"""Moving a SQLite file's write-ahead log into the database, away from the commits.

In WAL mode a commit only appends pages to the log. Every so often the log is
copied into the database file (a checkpoint), which syncs both files to disk.
Left to SQLite, the commit that crosses the threshold does that work, and a
person completing a task waits for it: on this machine it was a quarter of
what a step costs. Here a background thread checkpoints shortly after
commits; the commits' own automatic checkpoint stays on, at a higher
threshold, as a safety net for processes that run no such thread (one CLI
command) or a thread that falls behind.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Optional

# Pages in the log before a commit checkpoints by itself (SQLite's default is 1,000: 4 MB).
COMMIT_CHECKPOINT_PAGES = 10_000
# What the log file is cut back to once it starts over: a burst of commits leaves no 40 MB file behind.
LOG_SIZE_LIMIT_BYTES = 4 * 1024 * 1024
# How long the thread lets commits gather before it copies them.
_PAUSE_SECONDS = 0.2


class WalCheckpointer:
    """A daemon thread that checkpoints one SQLite file's log soon after commits; start on demand, stop once."""

    def __init__(self, path: str, pause_seconds: float = _PAUSE_SECONDS) -> None:
        self.path = str(Path(path).absolute())  # the file the engine opens, whatever the working directory later
        self.pause_seconds = pause_seconds
        self._commits = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def committed(self) -> None:
        """Note a commit on the file; starts the thread on the first one."""
        with self._lock:
            if self._stopping.is_set():
                return
            self._commits += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"wal-checkpoint {self.path}", daemon=True)
                self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """Copy what the log still holds and end the thread."""
        with self._lock:
            self._stopping.set()
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        try:
            # Read-write on the existing file only: never create an empty database by mistake.
            connection = sqlite3.connect(Path(self.path).as_uri() + "?mode=rw", uri=True, isolation_level=None)
        except sqlite3.Error:
            return  # the file is gone; the commits' own checkpoint still bounds the log
        try:
            connection.execute("PRAGMA synchronous=NORMAL")
            while True:
                self._wake.wait()
                self._wake.clear()
                # Let a burst of commits finish first, so that one checkpoint copies each page once
                # (returns at once when stopping).
                self._stopping.wait(self.pause_seconds)
                with self._lock:
                    pending, self._commits = self._commits, 0
                if pending:
                    self._checkpoint(connection)
                if self._stopping.is_set():
                    return
        finally:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        try:
            # PASSIVE never waits for readers or writers: what it cannot copy now, the next round copies.
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            # A busy or locked file: the commits' own checkpoint still bounds the log.
            pass
