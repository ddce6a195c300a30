//! A real headless Chromium for the console's browser tests, driven over
//! WebDriver: Debian's `chromium` and `chromium-driver` (`scripts/test`
//! installs them when missing; `CHROMEDRIVER` and `CHROMIUM` name other
//! binaries). Each test gets its own driver and browser, ended with it.
//! Every page a test looks at can be kept as a screenshot under
//! `target/tmp/console-screenshots/`, which CI keeps as artifacts.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::system::DEADLINE;

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

pub struct Browser {
    client: Client,
    /// The API's base URL: paths are visited under it.
    base: String,
    /// The driver, leader of a process group that holds the browser too.
    driver: Child,
}

/// Ends the driver and the browser it started, also when a test failed
/// before closing them.
impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(group) = self.driver.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{group}")])
                .status();
        }
    }
}

/// Where screenshots are kept.
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")
}

impl Browser {
    /// Starts a driver and a headless browser for pages under `base`.
    pub async fn open(base: &str) -> Self {
        let driver_binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = testkit::process::free_port().unwrap();
        let driver = Command::new(&driver_binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "could not start {driver_binary} ({error}): the browser tests need Chromium \
                     and its WebDriver (Debian/Ubuntu: apt-get install chromium chromium-driver; \
                     scripts/test installs them), or CHROMEDRIVER set to a chromedriver"
                )
            });
        let webdriver = format!("http://127.0.0.1:{port}");
        wait_until_ready(&webdriver).await;

        let mut chrome = json!({
            "args": [
                "--headless=new",
                // Tests run as root in CI, where Chromium's sandbox cannot start.
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--disable-gpu",
                "--window-size=1280,900",
            ]
        });
        if let Ok(binary) = std::env::var("CHROMIUM") {
            chrome["binary"] = Value::String(binary);
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), chrome);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .unwrap();
        Self {
            client,
            base: base.to_owned(),
            driver,
        }
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Signs in with `key` through the sign-in form, as a person would.
    pub async fn sign_in(&self, key: &str) {
        self.goto("/ui").await;
        self.wait_for_path("/ui/sign-in").await;
        self.fill("#api_key", key).await;
        self.click("main form button[type=submit]").await;
        self.wait_for_path("/ui").await;
    }

    pub async fn fill(&self, css: &str, text: &str) {
        self.find(css).await.send_keys(text).await.unwrap();
    }

    /// Clicks `css`; found again if a live page swapped it out first.
    pub async fn click(&self, css: &str) {
        let until = Instant::now() + DEADLINE;
        loop {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(error) => assert!(Instant::now() < until, "cannot click {css}: {error}"),
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(DEADLINE)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(error) => {
                let source = self.client.source().await.unwrap_or_default();
                panic!(
                    "no {css} on {} ({error}); the page:\n{source}",
                    self.path().await
                )
            }
        }
    }

    /// Waits until `css` matches an element.
    pub async fn wait_for(&self, css: &str) {
        self.find(css).await;
    }

    /// Waits until the page marked with `window.__sameDocument` (see the
    /// tests' `MARK`) has been replaced by another document.
    pub async fn wait_for_new_document(&self) {
        let until = Instant::now() + DEADLINE;
        while self.run("return window.__sameDocument === true;").await == true {
            assert!(Instant::now() < until, "the page never changed");
            tokio::time::sleep(POLL).await;
        }
    }

    /// How many elements `css` matches now.
    pub async fn count(&self, css: &str) -> usize {
        self.client.find_all(Locator::Css(css)).await.unwrap().len()
    }

    /// The text of `<main>` as shown (a live page may swap it while it is
    /// read: then it is read again).
    pub async fn main_text(&self) -> String {
        let until = Instant::now() + DEADLINE;
        loop {
            if let Ok(text) = self.find("main").await.text().await {
                return text;
            }
            assert!(Instant::now() < until, "<main> never held still to be read");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the element `css` shows `needle` (the page may change
    /// under it: a live page swaps its `<main>`), and returns its text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let until = Instant::now() + DEADLINE;
        loop {
            // The element may be swapped out between finding and reading it.
            let text = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) {
                return text;
            }
            if Instant::now() >= until {
                // What the page fetched tells whether it was listening.
                let fetched = self
                    .run("return performance.getEntriesByType('resource').map((e) => e.name);")
                    .await;
                panic!(
                    "{css} never showed {needle:?} on {}; it shows:\n{text}\nthe page fetched: {fetched}",
                    self.path().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub async fn wait_for_path(&self, path: &str) {
        let until = Instant::now() + DEADLINE;
        loop {
            let now = self.path().await;
            if now == path {
                return;
            }
            if Instant::now() >= until {
                let shown = self.main_text().await;
                panic!("never reached {path}; at {now}, which shows:\n{shown}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn run(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// POSTs `form` (URL-encoded) to `path` from the page with its cookies,
    /// as a script an attacker wrote would, and returns the status.
    pub async fn post_by_hand(&self, path: &str, form: &str) -> u64 {
        let status = self
            .client
            .execute_async(
                r#"
                const [path, form, done] = arguments;
                fetch(path, {
                    method: "POST",
                    headers: { "Content-Type": "application/x-www-form-urlencoded" },
                    body: form,
                    credentials: "same-origin",
                    redirect: "manual",
                }).then((r) => done(r.status), (e) => done(String(e)));
                "#,
                vec![json!(path), json!(form)],
            )
            .await
            .unwrap();
        status
            .as_u64()
            .unwrap_or_else(|| panic!("the POST to {path} failed: {status}"))
    }

    /// Keeps a screenshot of the page as `<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn close(self) {
        self.client.clone().close().await.unwrap();
    }
}

/// Waits until the driver at `webdriver` says it is ready.
async fn wait_until_ready(webdriver: &str) {
    let http = reqwest::Client::new();
    let until = Instant::now() + DEADLINE;
    loop {
        let status = http.get(format!("{webdriver}/status")).send().await;
        if let Ok(answer) = status {
            let body: Value = answer.json().await.unwrap_or_default();
            if body["value"]["ready"] == true {
                return;
            }
        }
        assert!(
            Instant::now() < until,
            "chromedriver at {webdriver} never became ready"
        );
        tokio::time::sleep(POLL).await;
    }
}
