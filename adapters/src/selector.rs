//! The transport selector (R-DIG-2): Gmail-DWD, else SMTP; or the outbox.
