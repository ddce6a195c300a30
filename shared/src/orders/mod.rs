//! Orders: their lifecycle, how they are placed, read, moved and cancelled.
//!
//! Every change of an order's status goes through [`transition`], fenced on
//! the status the caller expects and written together with its history row.
//! The API checks orders ([`check`]), prices and places them ([`place`]) and cancels
//! them ([`cancel`]); the saga's
//! steps move them along, each in the transaction that completes its task.

mod cancel;
mod capture_method;
pub mod deadline;
mod error;
mod model;
mod place;
mod pricing;
mod read;
mod status;
mod step_end;
mod task_kind;
mod transition;

pub use cancel::{Cancellation, cancel};
pub use capture_method::{CaptureMethod, UnknownCaptureMethod};
pub use error::OrderError;
pub use model::{
    Failure, HistoryEntry, NewLine, NewOrder, Order, OrderLine, OrderSnapshot, OrderTask,
};
pub use place::{Accepted, PLACE_SQL, Placement, as_placed, delete_expired_keys, place};
pub use pricing::{CheckedOrder, ListPrice, OrderRequest, PricingError, RequestedItem, check};
pub use read::{
    StatusCount, by_email, count_by_status, get, history, lines, list, snapshot, tasks,
};
pub use status::{IllegalTransition, OrderStatus};
pub use step_end::{Move, STEP_END_SQL, ShortOfStock, StepEnd, StepEnded, end_step};
pub use task_kind::{TaskKind, UnknownTaskKind};
pub use transition::{Transition, transition};
