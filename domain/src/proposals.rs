//! The proposal state machine (R-CAP-7) and the service that applies decisions.
