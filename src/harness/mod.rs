//! What the `bench` and `chaos` commands share: the system under test, run
//! as real processes of this very binary.

pub mod queue;
pub mod system;
