"""Materials sent by e-mail to the campaign's mailbox (docs/mail.md): read over IMAP in
batches, matched to a unit and a kind, taken through the inbox's intake, answered with a
receipt, and marked on the server only once recorded."""

from pingan.adapters.intake.mail.imap import CONNECTION_ERRORS, Mailbox, MailboxConfig
from pingan.adapters.intake.mail.intake import MailReport, MailRun, collect_mail, max_message_bytes

__all__ = [
    "CONNECTION_ERRORS",
    "MailReport",
    "MailRun",
    "Mailbox",
    "MailboxConfig",
    "collect_mail",
    "max_message_bytes",
]
