//! Raw RFC 822 messages to ParsedMessage, on mail-parser (R-CAP-3).
