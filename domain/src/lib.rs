//! mailroom's decisions: pure rules over the ports' records, and the services
//! that drive them through the ports' traits. No I/O happens here; nothing in
//! this crate can fail for a reason outside its input or a port's answer.

pub mod capture;
pub mod digest;
pub mod direction;
pub mod drafts;
pub mod gating;
pub mod matching;
pub mod proposals;
pub mod trust;
