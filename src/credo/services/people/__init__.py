"""Staff: accounts, sign-in, sessions, members and roles, API keys."""
