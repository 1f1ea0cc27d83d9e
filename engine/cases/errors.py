"""The mistakes a case refuses, importable without loading SpiffWorkflow (the CLI and the web app catch them)."""


class TaskNotReady(Exception):
    """The task exists but is not a READY human task of this case."""


class MessageNotExpected(Exception):
    """No part of the case is waiting for this message."""
