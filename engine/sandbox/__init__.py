"""The sandbox: every piece of Python in a BPMN (scripts, conditions, DMN cells, timers) runs through it.

``scripting`` compiles with RestrictedPython under a time limit; ``helpers``
finds the plain functions a process's scripts may call. This wing imports no
other part of the engine: what a script can reach is decided here alone.
"""
