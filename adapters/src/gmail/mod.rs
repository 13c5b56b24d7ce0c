//! Gmail through domain-wide delegation: credentials, mailbox reading, drafts, and the digest send.
