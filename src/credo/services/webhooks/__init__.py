"""Webhooks: endpoints an organization registers, events written with the changes they
tell of, and their delivery by the workers."""
