"""The issuer's dashboard: server-rendered pages under /app, sign-in at /login."""
