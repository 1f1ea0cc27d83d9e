"""The two errors every part of the engine may raise, each with a message meant for the person who caused it."""


class NotFound(Exception):
    """An id or name that matches nothing."""


class NotAllowed(Exception):
    """The user may not do this to this task or case."""
