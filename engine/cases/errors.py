"""The mistakes a case refuses, importable without loading SpiffWorkflow (the CLI and the web app catch them)."""


class TaskNotReady(Exception):
    """The task exists but is not what was asked for: a READY human task, or a service task waiting for its
    worker, of this case."""


class MessageNotExpected(Exception):
    """No part of the case is waiting for this message."""


class CannotStart(ValueError):
    """SpiffWorkflow cannot begin a case of the process; nothing was started."""
