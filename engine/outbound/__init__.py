"""What Valueflow sends out of the process: mail over SMTP, signed JSON webhooks."""
