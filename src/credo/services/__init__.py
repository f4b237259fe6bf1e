"""Use cases. Each runs inside one unit of work opened by `services.runner`, which commits
once; services never commit."""
