"""Multibase with base58btc (the `z` prefix), the only base Data Integrity EdDSA uses."""

from __future__ import annotations

from credo.domain.errors import InvalidKey

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {ch: i for i, ch in enumerate(_ALPHABET)}


_CHUNK_DIGITS = 10
_CHUNK = 58**_CHUNK_DIGITS  # below 2**63: each chunk's digits come by machine-size division


# Every pair of digits, by its value: half the Python-level divisions again.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]


def b58encode(data: bytes) -> str:
    """Bitcoin base58: big-endian base-58 digits, one `1` per leading zero byte.
    Every signature is encoded, so the big number is cut into chunks of ten digits first
    (a tenth of the big-number divisions), and each chunk into five pairs of digits."""
    n = int.from_bytes(data, "big")
    pairs: list[str] = []
    while n:
        n, chunk = divmod(n, _CHUNK)
        for _ in range(_CHUNK_DIGITS // 2):
            chunk, pair = divmod(chunk, 58 * 58)
            pairs.append(_PAIRS[pair])
    # The most significant chunk's zero digits ("1") pad the number: not part of it.
    number = "".join(reversed(pairs)).lstrip("1")
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + number


def b58decode(text: str) -> bytes:
    n = 0
    for ch in text:
        digit = _INDEX.get(ch)
        if digit is None:
            raise InvalidKey(f"{ch!r} is not a base58btc character")
        n = n * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def encode(data: bytes) -> str:
    """Multibase base58btc: `z` then the base58btc digits."""
    return "z" + b58encode(data)


def decode(value: str, *, max_chars: int = 200) -> bytes:
    """Decode a `z` multibase value. Values longer than `max_chars` are refused before any
    arithmetic: base58 decoding is quadratic, and keys and signatures are short."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise InvalidKey("a multibase value here must be base58btc (start with 'z')")
    if len(value) > max_chars:
        raise InvalidKey(f"a multibase value here has at most {max_chars} characters")
    return b58decode(value[1:])
