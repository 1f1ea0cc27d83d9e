"""Process definitions: packages read and validated, step annotations, form schemas, compiled specs.

May import ``time``, ``sandbox`` and ``errors``; never cases, storage, work or
analytics: a definition is checked and compiled without a database.
"""
