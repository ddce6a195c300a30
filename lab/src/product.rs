//! Finding the product binary whose roles the lab starts.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// `given` when set, else `asynccheckout` next to this program.
pub fn locate(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(path) => path.to_owned(),
        None => std::env::current_exe()
            .context("cannot find this program's own path")?
            .with_file_name("asynccheckout"),
    };
    if !path.is_file() {
        bail!(
            "the product binary {} does not exist: build it (cargo build --bin asynccheckout, \
             with --release for the bench's figures) or name it with --product",
            path.display()
        );
    }
    Ok(path)
}
