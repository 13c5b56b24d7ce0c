//! The digest over SMTP (lettre).
