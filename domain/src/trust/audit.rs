//! The completeness audit (to come).
