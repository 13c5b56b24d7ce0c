//! Email-level direction: outbound iff the sender is one of our mailboxes.
