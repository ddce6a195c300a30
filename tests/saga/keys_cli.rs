//! API keys made and revoked through `asynccheckout keys`, as an operator
//! does, against a running system's database.

use tokio::process::Command;

use crate::system::{BINARY, System};

impl System {
    /// Creates an API key with `scopes` through `asynccheckout keys create`,
    /// and returns (its id, its secret).
    pub async fn create_key(&self, name: &str, scopes: &[&str]) -> (String, String) {
        self.create_key_with(name, scopes, &[]).await
    }

    /// [`Self::create_key`] with more arguments, e.g. `--rate-limit 5`.
    pub async fn create_key_with(
        &self,
        name: &str,
        scopes: &[&str],
        more: &[&str],
    ) -> (String, String) {
        let mut args = vec!["keys", "create", "--name", name];
        for scope in scopes {
            args.extend(["--scope", scope]);
        }
        args.extend(more);
        let out = Command::new(BINARY)
            .args(&args)
            .env("DATABASE_URL", &self.database_url)
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "keys create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let line = |label: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(label))
                .map(|v| v.trim().to_owned())
                .unwrap()
        };
        (line("id:"), line("key:"))
    }

    /// Runs `asynccheckout keys <args>` and returns whether it succeeded.
    pub async fn keys_command(&self, args: &[&str]) -> bool {
        let out = Command::new(BINARY)
            .arg("keys")
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .output()
            .await
            .unwrap();
        out.status.success()
    }
}
