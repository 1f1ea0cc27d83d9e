"""The sandbox: every piece of Python in a BPMN (scripts, conditions, DMN cells, timers) runs through it.

``scripting`` compiles with RestrictedPython and runs the code: cheap code
(``bounded`` proves it so) in the server's process, any other in a sandbox
process with CPU and memory limits (``isolation``); ``values`` says what a
case's data can keep; ``helpers`` finds the plain functions a process's
scripts may call. This wing imports no other part of the engine: what a
script can reach is decided here alone.
"""
