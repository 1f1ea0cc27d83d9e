"""The Python side of the shipped process packages.

Each module ``workflows/<process key>.py`` holds the plain helper functions
that the scripts, gateway conditions and DMN cells of ``bpmn/<process key>/``
may call, in its module-level ``HELPERS`` dict, and its demo-traffic profile
``DEMO``. pyproject.toml registers each under the ``valueflow.helpers`` entry
points (engine.sandbox.helpers), as any installed package can for its own processes.
"""
