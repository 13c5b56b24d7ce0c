//! Test support: fake_google.
