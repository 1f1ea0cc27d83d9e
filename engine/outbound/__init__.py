"""What Valueflow sends out of the process: mail over SMTP, signed JSON webhooks.

Settings come from the environment of the process that sends. This wing imports no other part of the engine.
"""
