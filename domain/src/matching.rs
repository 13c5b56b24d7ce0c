//! Address matching (R-CAP-4): own addresses never match; contact email, then investor domain.
