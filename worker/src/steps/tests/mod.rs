//! Each saga step in-process, against the mock gateway on a free port and a
//! real PostgreSQL database per test: the step is handed a claimed task and
//! a context as the runtime would, and the test reads what it decided.

mod charge_payment;
mod harness;
mod refund_payment;
mod reserve_inventory;
mod send_confirmation;
