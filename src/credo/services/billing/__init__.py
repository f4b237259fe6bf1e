"""Credits: seats charged by the rules of credits.md, balances, reports, alerts, the audit."""
