"""Time: the injected clock, ISO 8601 durations, business calendars and dates as people read them.

Every "now" in Valueflow comes from a ``Clock`` here. This wing imports no
other part of the engine.
"""
