"""Organizations, their clocks and their public identities (did:web)."""
