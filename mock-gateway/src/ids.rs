//! Stripe-style object ids: a prefix such as `ch_` and random alphanumerics.

use rand::Rng;

/// Random characters after the prefix, as in Stripe's ids.
const ID_LEN: usize = 24;

/// `prefix` and random alphanumerics, drawn again on the (unlikely) clash.
pub(crate) fn unique_id(prefix: &str, taken: impl Fn(&str) -> bool) -> String {
    loop {
        let suffix: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(ID_LEN)
            .map(char::from)
            .collect();
        let id = format!("{prefix}{suffix}");
        if !taken(&id) {
            return id;
        }
    }
}
