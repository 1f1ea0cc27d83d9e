"""People and their work: accounts and passwords, the inbox, case and task pages, who sees which case,
customers, feedback.

Read models and the few use cases about people. May import ``storage``,
``definitions``, ``time`` and ``errors``; never cases, sandbox or analytics.
"""
