"""E-mail: composing messages and the worker that sends the outbox."""
