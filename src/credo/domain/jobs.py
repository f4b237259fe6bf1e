"""Background work, as values: lanes (which work goes first) and retry schedules.

A job is a row in the database (e-mails in the outbox, everything else in `jobs`) claimed by
any worker with a lease; this module decides, without I/O, in which order lanes are served
and how long a failed job waits before its next try."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum


class Lane(IntEnum):
    """Lower goes first. Account e-mails (password resets, invitations, credit alerts) are
    what a person is waiting for right now; credential e-mails come by the thousand after a
    bulk; reminders can wait an hour without anyone noticing."""

    ACCOUNT = 0
    CREDENTIAL = 1
    BULK = 2


# E-mail kinds (the outbox's `kind`) by lane; kinds not named ride in CREDENTIAL.
_MAIL_LANES = {
    "password.reset": Lane.ACCOUNT,
    "account.invite": Lane.ACCOUNT,
    "credits.alert": Lane.ACCOUNT,
    "webhook.disabled": Lane.ACCOUNT,
    "wallet.sign_in": Lane.ACCOUNT,  # someone waits for it, as for a password reset
    "credential.expiring": Lane.BULK,
}


def mail_lane(kind: str) -> Lane:
    return _MAIL_LANES.get(kind, Lane.CREDENTIAL)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: the wait after the n-th failed try doubles from `first` up to
    `cap`; after `max_attempts` tries the job is given up (and kept, with its last error)."""

    max_attempts: int = 16  # with the delays below, tries span nearly two days
    first: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=6)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed try: first, 2x first, 4x first ... capped."""
        return min(self.first * (1 << min(max(attempts - 1, 0), 30)), self.cap)

    def gives_up(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
