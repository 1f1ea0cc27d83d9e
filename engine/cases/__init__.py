"""One case in memory: SpiffWorkflow's workflow with Valueflow's rules around it.

``model`` is the only place that drives SpiffWorkflow at run time; ``workflow``
is the workflow class cases run on, ``compaction`` keeps looping cases small,
``state`` is the run state as JSON, ``owners`` computes the assignees and groups a diagram writes as
expressions. May import ``definitions``, ``sandbox``, ``errors``
and ``time``; never storage, work or analytics: a case runs without a database.
"""
