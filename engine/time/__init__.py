"""Time: the injected clock, ISO 8601 durations and business calendars.

Every "now" in Valueflow comes from a ``Clock`` here. This wing imports no
other part of the engine.
"""
