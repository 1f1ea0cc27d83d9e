"""Analytics: cycle time against target, per process and step, aggregated in SQL.

``facts`` and ``rollups`` pre-aggregate, ``filters`` says which cases a
figure covers, the other modules compute the dashboards' figures and the
event log export. May import ``storage``, ``definitions``, ``time`` and
``errors``; never cases, sandbox or work: analytics read rows, never run a case.
"""
