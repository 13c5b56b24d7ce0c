//! The daily digest (R-DIG-1 … R-DIG-6): composition, policy, schedule, service.
