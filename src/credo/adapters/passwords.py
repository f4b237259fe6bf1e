"""Password hashing: argon2id with the library's parameters (RFC 9106's second
recommendation: 3 passes over 64 MiB). `fast` is for test runs only, which hash a password
for every person they make: Settings refuses it in production."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Passwords:
    def __init__(self, *, fast: bool = False) -> None:
        # One pass over 1 MiB: the same algorithm and code paths, a hundredth of the work.
        self._hasher = (
            PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
            if fast
            else PasswordHasher()
        )

    @property
    def parameters(self) -> tuple[int, int, int]:
        """(passes, KiB of memory, lanes): what a new hash costs."""
        h = self._hasher
        return h.time_cost, h.memory_cost, h.parallelism

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
