"""Recipients: their addresses, private links, hiding, expiry reminders."""
