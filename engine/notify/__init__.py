"""Notifications: who hears of what (a task assigned, at risk or past its target, an incident), by mail or a
signed webhook.

``settings`` is what each user, and each role (set by an admin), chose; ``recipients`` decides who hears of a
notification and by which channel; ``messages`` writes what they read; ``sending`` is the ``notify`` job that
sends them (run by engine.jobs without any case's lock); ``deliveries`` lists the sent and failed ones for
admins. The outbox they start from is written by the change itself (engine.storage.outbox). May import
``storage``, ``work``, ``definitions``, ``outbound``, ``time`` and ``errors``.
"""
