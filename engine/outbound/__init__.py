"""What Valueflow sends out of the process: mail over SMTP, signed JSON webhooks, calls to HTTP services, and
texts filled from case data for them. It imports no other part of the engine: settings come from the
environment, values from the caller."""
