//! Reply drafts (R-DRAFT-1, R-DRAFT-2): recipients, subject, threading headers, and the service.
