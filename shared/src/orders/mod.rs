//! Orders: their lifecycle and the saga's vocabulary.
//!
//! The order tables and their queries arrive with the saga; what lives here
//! now are the rules every layer must agree on: which states exist
//! ([`OrderStatus`]), which moves between them are legal, and which task kinds
//! ([`TaskKind`]) move an order along.

mod status;
mod task_kind;

pub use status::{IllegalTransition, OrderStatus};
pub use task_kind::{TaskKind, UnknownTaskKind};
