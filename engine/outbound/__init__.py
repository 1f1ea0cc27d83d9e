"""What Valueflow sends out of the process: mail over SMTP, signed JSON webhooks, calls to HTTP services, and
texts filled from case data for them.

Settings come from the environment of the process that sends, values from the caller. This wing imports no other
part of the engine.
"""
