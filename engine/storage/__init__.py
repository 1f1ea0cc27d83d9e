"""Storage: the schema, database engines, units of work and the cases' hot path to the database.

``tables`` is the schema (changed only through ``migrations/``), ``types`` its
column types of our own, ``uow`` the
transaction around a use case, ``casestore`` the statements a step runs,
``jobs`` those of the job table (schedule, claim, take, give back),
``wiring.connect`` the one call that hands out units of work,
``account_generation`` the number every change to an account raises, ``location`` which database,
``driver_reads`` plain SQL reads on the driver alone, for a command that loads no SQLAlchemy. May import
``cases``, ``definitions``, ``time`` and ``errors``; never work or analytics.
"""
