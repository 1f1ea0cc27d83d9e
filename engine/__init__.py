"""Valueflow's engine: everything that runs customer processes, with no web framework in it.

Wings, from the bottom up (each wing's ``__init__`` says what it may import):

- ``time``: the injected clock, ISO 8601 durations, business calendars;
- ``sandbox``: the restricted engine every script and expression runs in, and the helper functions processes may call;
- ``definitions``: process packages, validation, step annotations, form schemas;
- ``cases``: one case in memory, on SpiffWorkflow;
- ``storage``: the schema, units of work, and cases read and written on the hot path;
- ``work``: people and their work: accounts, inbox, case and task pages, customers, feedback;
- ``analytics``: cycle times against targets, the managers' dashboards and the event log export.

``errors`` holds the two errors every wing may raise. ``service`` is the
use-case layer on top: each use case runs in one unit of work and commits it;
beside it ``jobs`` runs due jobs (timers, breaches; each in its own unit of work)
and ``incidents`` lists, retries and cancels the cases in error;
``metrics`` times the use cases for Prometheus.
The faces on top of that are ``cli`` (the ``valueflow`` command), ``worker``
(the job worker, in its own process or beside the web app) and
``simulation`` (the demo's traffic); the web app lives outside the engine, in ``web/``.
"""
