//! Running the private cluster as the server's system user when we are root:
//! finding a folder that user can reach, and running commands as that user.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::BootstrapError;

/// `program` as a command run by `user`, or by us when `None`.
pub(super) fn as_user(user: Option<&str>, program: &Path) -> Command {
    match user {
        Some(user) => {
            let mut command = Command::new("runuser");
            command.args(["-u", user, "--"]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// The folder a cluster asked for in `dir` lives in when it runs as `user`:
/// `dir` itself, handed to `user`, when `user` can reach it; otherwise a
/// folder of `user`'s under the system's temporary directory (see
/// [`fallback_home`]), which `dir/pgdata` then links to.
pub(super) fn server_user_home(dir: &Path, user: &str) -> Result<PathBuf, BootstrapError> {
    let fail = |reason: String| BootstrapError::PrivateCluster {
        dir: dir.to_owned(),
        reason,
    };
    let Some(uid) = user_id(user) else {
        return Err(fail(format!(
            "PostgreSQL refuses to run as root, and this machine has no `{user}` user to run it \
             as. Create one (useradd --system --create-home {user}), run as another user, or set \
             DATABASE_URL to a server of your own"
        )));
    };
    if user_can_enter(user, dir.parent().unwrap_or(dir)) {
        // The server's user must be able to write its own folder.
        let chown = Command::new("chown").args(["-R", user]).arg(dir).output();
        match chown {
            Ok(out) if out.status.success() => return Ok(dir.to_owned()),
            Ok(out) => {
                return Err(fail(format!(
                    "chown -R {user} failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            Err(e) => return Err(fail(format!("chown could not be run: {e}"))),
        }
    }
    let home = fallback_home(dir);
    claim_fallback_home(&home, user, uid).map_err(|reason| {
        fail(format!(
            "the PostgreSQL server runs as the `{user}` user (it refuses root), and that user can \
             reach neither this folder (a parent folder is closed to it) nor {}: {reason}. Set \
             DATA_DIR to a folder `{user}` can reach (every parent folder needs o+x), run as \
             another user, or set DATABASE_URL to a server of your own",
            home.display()
        ))
    })?;
    tracing::info!(
        requested = %dir.display(),
        dir = %home.display(),
        "the `{user}` user cannot reach the requested folder, so the private PostgreSQL \
         cluster is kept in a folder of its own under the temporary directory"
    );
    link_data_folder(dir, &home);
    Ok(home)
}

/// Where a cluster asked for in `dir` lives when its user cannot reach `dir`:
/// under the system's temporary directory, named after `dir` (its last two
/// path components and a hash of the whole path), so the same folder finds
/// the same cluster on every start.
pub fn fallback_home(dir: &Path) -> PathBuf {
    let tail: Vec<String> = dir
        .components()
        .rev()
        .take(2)
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .chars()
                .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
                .take(40)
                .collect()
        })
        .collect();
    let name: Vec<&str> = tail.iter().rev().map(String::as_str).collect();
    std::env::temp_dir().join(format!(
        "asynccheckout-{}-{:016x}",
        name.join("-"),
        fnv1a(dir.as_os_str().as_encoded_bytes())
    ))
}

/// Creates `home` for `user` (mode 0700), or checks that the one there is a
/// real folder of theirs: the temporary directory is shared with everyone.
fn claim_fallback_home(home: &Path, user: &str, uid: u32) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};

    match std::fs::symlink_metadata(home) {
        Ok(meta) if meta.is_dir() && meta.uid() == uid => {}
        Ok(_) => {
            return Err(format!(
                "{} exists but is not a folder owned by `{user}`; remove it",
                home.display()
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(home)
                .map_err(|e| format!("cannot create it: {e}"))?;
            let chown = Command::new("chown")
                .arg(user)
                .arg(home)
                .status()
                .map_err(|e| format!("chown could not be run: {e}"))?;
            if !chown.success() {
                return Err(format!("chown {user} failed ({chown})"));
            }
        }
        Err(e) => return Err(format!("cannot read it: {e}")),
    }
    if user_can_enter(user, home) {
        Ok(())
    } else {
        Err("that user cannot enter it either".to_owned())
    }
}

/// Leaves `dir/pgdata` pointing at the cluster's real data folder, so that a
/// person looking in `dir` finds it. Best effort: it is only a signpost.
fn link_data_folder(dir: &Path, home: &Path) {
    let link = dir.join("pgdata");
    let is_link = std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        let _ = std::fs::remove_file(&link);
    }
    if let Err(e) = std::os::unix::fs::symlink(home.join("pgdata"), &link) {
        tracing::debug!(error = %e, link = %link.display(), "no signpost to the cluster's folder");
    }
}

/// Whether `user` can search (enter) `dir`, which needs every parent too.
fn user_can_enter(user: &str, dir: &Path) -> bool {
    as_user(Some(user), Path::new("test"))
        .arg("-x")
        .arg(dir)
        .current_dir("/")
        .status()
        .is_ok_and(|status| status.success())
}

/// The numeric id of a system user, if it exists.
fn user_id(user: &str) -> Option<u32> {
    let out = Command::new("id").args(["-u", user]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// FNV-1a, 64 bits: a hash that stays the same across builds and releases.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
