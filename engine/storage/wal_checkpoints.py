"""Moving a SQLite file's write-ahead log into the database, away from the commits.

In WAL mode a commit only appends pages to the log. Every so often the log is
copied into the database file (a checkpoint), which syncs both files to disk.
Left to SQLite, the commit that crosses the threshold does that work, and a
person completing a task waits for it: on this machine it was a quarter of
what a step costs. Here a background thread checkpoints shortly after
commits; the commits' own automatic checkpoint stays on, at a higher
threshold, as a safety net for processes that run no such thread (one CLI
command) or a thread that falls behind.

The log file is reused from its start once it has been copied, and commits
never shorten it: cutting a 40 MB log back took a commit 35–40 ms on this
machine. The thread cuts it to nothing instead, once no commit has come for
half a minute. Not sooner: people's steps come in bursts, and a log cut at
every short pause has to grow again by appends, which cost the next burst's
commits more than overwriting the log in place (a loan instance's steps were
8 % slower with the log cut after 0.4 s pauses).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Optional

# Pages in the log before a commit checkpoints by itself (SQLite's default is 1,000: 4 MB).
COMMIT_CHECKPOINT_PAGES = 10_000
# How long the thread lets commits gather before it copies them.
_PAUSE_SECONDS = 0.2
# How long without commits before the thread cuts the log file back to nothing (read when the thread is made).
CUT_AFTER_IDLE_SECONDS = 30.0
# How long cutting the log back may wait for a commit or a reader; it gives up until the next pause after that.
_TRUNCATE_WAIT_MS = 10


class WalCheckpointer:
    """A daemon thread that checkpoints one SQLite file's log soon after commits; start on demand, stop once."""

    def __init__(self, path: str, pause_seconds: float = _PAUSE_SECONDS) -> None:
        self.path = str(Path(path).absolute())  # the file the engine opens, whatever the working directory later
        self.pause_seconds = pause_seconds
        self.cut_after_seconds = CUT_AFTER_IDLE_SECONDS
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
            connection.execute(f"PRAGMA busy_timeout={_TRUNCATE_WAIT_MS}")
            copied_since_cut = False
            while True:
                self._wake.wait()
                self._wake.clear()
                # Let a burst of commits finish first, so that one checkpoint copies each page once
                # (returns at once when stopping).
                self._stopping.wait(self.pause_seconds)
                with self._lock:
                    pending, self._commits = self._commits, 0
                if pending:
                    # PASSIVE never waits for readers or writers: what it cannot copy now, the next round copies.
                    self._checkpoint(connection, "PASSIVE")
                    copied_since_cut = True
                if self._stopping.is_set():
                    return
                if copied_since_cut and not self._wake.wait(self.cut_after_seconds):
                    # No commit for a long while: copy what is left and cut the log file back to nothing
                    # (it holds commits back meanwhile, but none are coming).
                    self._checkpoint(connection, "TRUNCATE")
                    copied_since_cut = False
        finally:
            connection.close()

    @staticmethod
    def _checkpoint(connection: sqlite3.Connection, mode: str) -> None:
        try:
            connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        except sqlite3.Error:
            # A busy or locked file: the commits' own checkpoint still bounds the log.
            pass
