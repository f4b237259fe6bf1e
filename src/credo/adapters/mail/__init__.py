"""E-mail senders behind services.ports.MailSender: SMTP (smtp.py) and, for development, a
directory of .eml files (mailbox.py)."""
