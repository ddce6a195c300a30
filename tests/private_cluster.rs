//! The private PostgreSQL cluster that `migrate`, `dev` and the test scripts
//! start when no server lets them in, as a newcomer meets it: run from a
//! folder of mode 0700 (what `/root` and `mktemp -d` give), as root (the
//! server then runs as the `postgres` user, who cannot enter that folder) and
//! as a user who is not root (no user switch at all).
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use shared::db::bootstrap::fallback_home;

const BINARY: &str = env!("CARGO_BIN_EXE_asynccheckout");

/// A role no server has: the server on 127.0.0.1:5432, if any, refuses it,
/// so the bootstrap takes the private-cluster path.
const UNKNOWN_ROLE: &str = "asynccheckout_test_no_such_role";

fn running_as_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// A fresh folder of mode 0700 under the system's temporary directory.
fn private_folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("asynccheckout-{name}-{}", uuid::Uuid::new_v4()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
    dir
}

/// `asynccheckout migrate` run from `cwd` with no configured server,
/// optionally through `runuser -u user`.
fn migrate_from(cwd: &Path, binary: &Path, user: Option<&str>) -> Output {
    let mut command = match user {
        Some(user) => {
            let mut command = Command::new("runuser");
            command.args(["-u", user, "--"]).arg(binary);
            command
        }
        None => Command::new(binary),
    };
    command
        .arg("migrate")
        .current_dir(cwd)
        .env_remove("DATABASE_URL")
        .env_remove("DATA_DIR")
        .env("PGUSER", UNKNOWN_ROLE)
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info");
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "migrate failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn log_of(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn migrate_from_a_private_folder_starts_a_cluster_the_server_user_can_reach_and_reuses_it() {
    let checkout = private_folder("checkout");
    let requested = checkout.join(".asynccheckout");

    let first = migrate_from(&checkout, Path::new(BINARY), None);
    let log = log_of(&first);
    assert!(
        log.contains("creating a private PostgreSQL cluster"),
        "no cluster was created:\n{log}"
    );
    assert!(log.contains("database schema is current"), "{log}");

    let data = if running_as_root() {
        // As root, `postgres` runs the server and cannot enter the 0700
        // checkout: the cluster lives in a folder of its own, the log says
        // where, and `pgdata` in the checkout points there.
        let home = fallback_home(&requested.canonicalize().unwrap());
        assert!(
            log.contains(&home.display().to_string()),
            "the log does not say where the cluster is ({}):\n{log}",
            home.display()
        );
        let link = requested.join("pgdata");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "{} is not a signpost to the cluster",
            link.display()
        );
        assert_eq!(std::fs::read_link(&link).unwrap(), home.join("pgdata"));
        home.join("pgdata")
    } else {
        requested.join("pgdata")
    };
    assert!(
        data.join("PG_VERSION").is_file(),
        "no cluster in {}",
        data.display()
    );

    // A second start finds the same cluster: development data survives.
    let second = migrate_from(&checkout, Path::new(BINARY), None);
    let log = log_of(&second);
    assert!(
        !log.contains("creating a private PostgreSQL cluster"),
        "the second start created another cluster:\n{log}"
    );
    assert!(
        log.contains("started a private PostgreSQL cluster"),
        "{log}"
    );

    if running_as_root() {
        std::fs::remove_dir_all(data.parent().unwrap()).unwrap();
    }
    std::fs::remove_dir_all(&checkout).unwrap();
}

/// The same from a user who is not root: the server runs as that user, with
/// no switch, in the folder asked for. As root this runs as `postgres`.
#[test]
fn migrate_as_a_user_who_is_not_root_keeps_the_cluster_in_the_folder_asked_for() {
    let root = running_as_root();
    let (binary, user, bin_dir) = if root {
        // `postgres` must be able to run the binary: a clone in a 0700 folder
        // would hide it, so it runs a copy.
        let bin_dir = private_folder("bin");
        std::fs::set_permissions(&bin_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let binary = bin_dir.join("asynccheckout");
        std::fs::copy(BINARY, &binary).unwrap();
        (binary, Some("postgres"), Some(bin_dir))
    } else {
        (PathBuf::from(BINARY), None, None)
    };
    let checkout = private_folder("own-checkout");
    if let Some(user) = user {
        let chown = Command::new("chown")
            .arg(user)
            .arg(&checkout)
            .status()
            .unwrap();
        assert!(chown.success());
    }

    let output = migrate_from(&checkout, &binary, user);
    let data = checkout.join(".asynccheckout").join("pgdata");
    let meta = std::fs::symlink_metadata(&data).unwrap();
    assert!(
        meta.is_dir(),
        "the cluster is not in the folder asked for:\n{}",
        log_of(&output)
    );
    assert_eq!(
        meta.uid(),
        std::fs::metadata(&checkout).unwrap().uid(),
        "the cluster belongs to someone else than the user who ran migrate"
    );
    assert!(data.join("PG_VERSION").is_file());

    std::fs::remove_dir_all(&checkout).unwrap();
    if let Some(bin_dir) = bin_dir {
        std::fs::remove_dir_all(bin_dir).unwrap();
    }
}
