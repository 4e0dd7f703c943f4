//! IMAP (placeholder, being written).
