"""The Accredible-compatible API's use cases, each mapped onto Credo's own services, so that
every credit rule, the ledger, idempotency and the audit hold for it as for Credo's API."""
