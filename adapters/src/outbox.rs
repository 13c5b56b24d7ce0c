//! The digest written as .eml files to a folder: the zero-config transport.
