//! The console at `/ui` over plain HTTP, as a browser and as a forger would
//! use it: signing in gives a session cookie (HttpOnly, SameSite=Strict, not
//! the key), every action needs the session's CSRF token, a read-only key
//! sees no buttons and is refused when it forges a POST, and sign-out ends
//! the session on the server.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::system::{Options, System};

/// A client that shows redirects instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// POSTs a form (`body` already encoded) to `path`, with `cookie` if any.
async fn post_form(
    system: &System,
    path: &str,
    cookie: Option<&str>,
    body: String,
) -> reqwest::Response {
    let mut request = browser()
        .post(format!("{}{path}", system.api))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.unwrap()
}

/// GETs `path` with `cookie`.
pub(crate) async fn get_page(system: &System, path: &str, cookie: &str) -> reqwest::Response {
    browser()
        .get(format!("{}{path}", system.api))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

/// Signs in with `key`; returns the session cookie (`name=value`) and the
/// whole `Set-Cookie` line.
pub(crate) async fn sign_in(system: &System, key: &str, https: bool) -> (String, String) {
    let mut request = browser()
        .post(format!("{}/ui/sign-in", system.api))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("api_key={key}"));
    if https {
        request = request.header("X-Forwarded-Proto", "https");
    }
    let answer = request.send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()[LOCATION], "/ui");
    let set_cookie = answer.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let pair = set_cookie.split(';').next().unwrap().trim().to_owned();
    (pair, set_cookie)
}

/// The CSRF token in a page's forms.
fn csrf_of(page: &str) -> String {
    let at = page
        .find(r#"name="csrf" value=""#)
        .expect("a form with a CSRF token")
        + r#"name="csrf" value=""#.len();
    page[at..at + 32].to_owned()
}

async fn paused_kinds(system: &System) -> Vec<Value> {
    system
        .get_json(format!("{}/v1/queue/stats", system.api))
        .await["paused"]
        .as_array()
        .unwrap()
        .clone()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_session_holds_no_key_and_every_action_needs_its_csrf_token_and_admin(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("console_security", &db, Options::without_workers()).await;

    // Signed out: the console sends you to sign in.
    let answer = browser()
        .get(format!("{}/ui", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()[LOCATION], "/ui/sign-in");
    let form = browser()
        .get(format!("{}/ui/sign-in", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains(r#"name="api_key""#));

    // A wrong key gets no session.
    let wrong = post_form(&system, "/ui/sign-in", None, "api_key=ak_nope".into()).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get(SET_COOKIE).is_none());

    // The admin's session: a cookie that is not the key, HttpOnly,
    // SameSite=Strict, for /ui only; Secure when the proxy says https.
    let (admin, set_cookie) = sign_in(&system, &system.admin_key, false).await;
    assert!(!set_cookie.contains(&system.admin_key), "{set_cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(set_cookie.contains(flag), "{flag} missing: {set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
    let (_, over_https) = sign_in(&system, &system.admin_key, true).await;
    assert!(over_https.contains("Secure"), "{over_https}");

    let overview = get_page(&system, "/ui", &admin).await;
    assert_eq!(overview.status(), 200);
    let overview = overview.text().await.unwrap();
    assert!(overview.contains("Overview"));
    assert!(
        !overview.contains(&system.admin_key),
        "a page shows the key"
    );
    assert!(overview.contains(r#"action="/ui/queues/charge_payment/pause""#));
    let csrf = csrf_of(&overview);

    // No token, or another: refused, and nothing paused.
    for body in [String::new(), format!("csrf={}", "0".repeat(32))] {
        let forged = post_form(
            &system,
            "/ui/queues/charge_payment/pause",
            Some(&admin),
            body,
        )
        .await;
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    }
    assert!(paused_kinds(&system).await.is_empty());
    // A form with a NUL in a field is a 400, never a 5xx.
    let nul = post_form(
        &system,
        "/ui/queues/charge_payment/pause",
        Some(&admin),
        format!("csrf={csrf}%00"),
    )
    .await;
    assert_eq!(nul.status(), StatusCode::BAD_REQUEST);
    // With it: paused.
    let paused = post_form(
        &system,
        "/ui/queues/charge_payment/pause",
        Some(&admin),
        format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(paused.status(), StatusCode::SEE_OTHER);
    let paused = paused_kinds(&system).await;
    assert_eq!(paused.len(), 1);
    assert_eq!(paused[0]["kind"], "charge_payment");

    // A read-only key sees the console without a single button, and its
    // hand-made POST, with its own valid token, is refused.
    let (_, reader_key) = system.create_key("reader", &["orders:read"]).await;
    let (reader, _) = sign_in(&system, &reader_key, false).await;
    let page = get_page(&system, "/ui", &reader)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("read-only"), "{page}");
    assert!(
        !page.contains("/ui/queues/"),
        "a read-only page shows an action"
    );
    let tasks = get_page(&system, "/ui/tasks", &reader)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !tasks.contains("/retry"),
        "a read-only page shows an action"
    );
    let reader_csrf = csrf_of(&page); // the sign-out form's
    let forged = post_form(
        &system,
        "/ui/queues/charge_payment/resume",
        Some(&reader),
        format!("csrf={reader_csrf}"),
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(paused_kinds(&system).await.len(), 1, "still paused");

    // A key that may read nothing of this gets no session.
    let (_, writer_key) = system.create_key("writer", &["orders:write"]).await;
    let refused = post_form(
        &system,
        "/ui/sign-in",
        None,
        format!("api_key={writer_key}"),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.headers().get(SET_COOKIE).is_none());

    // A sign-in posted from another site's page is refused.
    let cross_site = browser()
        .post(format!("{}/ui/sign-in", system.api))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("Origin", "https://evil.example")
        .body(format!("api_key={}", system.admin_key))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);

    // Bad filters and unknown tasks are answered, not failed.
    let bad_filter = get_page(&system, "/ui/tasks?state=exploded&order_id=x", &admin).await;
    assert_eq!(bad_filter.status(), 200);
    assert!(bad_filter.text().await.unwrap().contains("no task state"));
    let missing = get_page(&system, "/ui/tasks/999999", &admin).await;
    assert_eq!(
        missing.status(),
        StatusCode::NOT_FOUND,
        "{:?}",
        missing.text().await
    );

    // Sign-out ends the session on the server: the old cookie is dead.
    let out = post_form(
        &system,
        "/ui/sign-out",
        Some(&admin),
        format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(out.headers()[LOCATION], "/ui/sign-in");
    let removal = out.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        removal.starts_with("asynccheckout_console=;") && removal.contains("Path=/ui"),
        "the browser is not told to drop the cookie: {removal}"
    );
    let after = get_page(&system, "/ui", &admin).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert_eq!(after.headers()[LOCATION], "/ui/sign-in");
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_operator_finds_an_order_and_reads_its_whole_story_without_its_token(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("console_orders", &db, Options::default()).await;
    system.create_product("MUG", 1250, 5).await;
    let order = system
        .place("console-order", "tok_visa", &[("MUG", 2)])
        .await;
    let settled = system.settled(&order).await;
    assert_eq!(settled["status"], "completed");
    let charge = settled["payment"]["charge_id"].as_str().unwrap().to_owned();
    // Its last event is readable (within moments of its commit).
    let until = tokio::time::Instant::now() + crate::system::DEADLINE;
    while system
        .get_json(format!("{}/v1/events?types=order.completed", system.api))
        .await["items"]
        .as_array()
        .is_none_or(|events| events.is_empty())
    {
        assert!(
            tokio::time::Instant::now() < until,
            "order.completed never readable"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let (admin, _) = sign_in(&system, &system.admin_key, false).await;

    // By e-mail, in any case: the order is listed.
    let found = get_page(&system, "/ui/orders?q=ADA@example.com", &admin).await;
    assert_eq!(found.status(), 200);
    let found = found.text().await.unwrap();
    assert!(found.contains(&format!("/ui/orders/{order}")), "{found}");
    // By id: straight to its page.
    let by_id = get_page(&system, &format!("/ui/orders?q={order}"), &admin).await;
    assert_eq!(by_id.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        by_id.headers()[LOCATION],
        format!("/ui/orders/{order}").as_str()
    );
    // By a status it does not have: not listed.
    let other = get_page(&system, "/ui/orders?status=failed", &admin).await;
    assert!(!other.text().await.unwrap().contains(&order));

    let story = get_page(&system, &format!("/ui/orders/{order}"), &admin).await;
    assert_eq!(story.status(), 200);
    let story = story.text().await.unwrap();
    for shown in [
        charge.as_str(),
        "completed",
        "stock reserved",
        "charge_payment",
        "send_confirmation",
        "order.completed",
        "25.00 USD",
    ] {
        assert!(story.contains(shown), "{shown} is not on the order's page");
    }
    assert!(
        !story.contains("tok_visa"),
        "the page shows the payment token"
    );

    let nothing = get_page(&system, "/ui/orders/not-an-id", &admin).await;
    assert_eq!(nothing.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_order_page_is_told_of_each_change_as_its_events_commit(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let mut system = System::start("console_live", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    let order = system
        .place("console-live", "tok_visa", &[("MUG", 1)])
        .await;
    let (admin, _) = sign_in(&system, &system.admin_key, false).await;

    // The page names its live source and loads the console's script.
    let page = get_page(&system, &format!("/ui/orders/{order}"), &admin)
        .await
        .text()
        .await
        .unwrap();
    let source = format!("/ui/live/orders/{order}");
    assert!(page.contains(&format!(r#"data-live="{source}""#)), "{page}");
    assert!(page.contains(r#"<script src="/ui/assets/console.js""#));
    let script = browser()
        .get(format!("{}/ui/assets/console.js", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(script.text().await.unwrap().contains("EventSource"));
    // Not without a session.
    let anonymous = browser()
        .get(format!("{}{source}", system.api))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::FORBIDDEN);

    // The placement's event is readable (below the horizon of transactions
    // in flight) before the page listens: a source opened before it is told
    // of it too (harmless: the page reloads once more), which is not what
    // this test counts.
    system
        .wait_for_count(
            "SELECT count(*) FROM order_events WHERE order_id = $1::uuid AND id < order_events_horizon()",
            &order,
            1,
            "the placement's event readable",
        )
        .await;
    // Listening, then the saga runs: the source names each event as it
    // commits, up to the order's completion.
    let mut live = get_page(&system, &source, &admin).await;
    assert_eq!(live.status(), 200);
    system.start_worker(0, &[]).await;
    let mut told = Vec::new();
    let mut buffer = String::new();
    let until = tokio::time::Instant::now() + crate::system::DEADLINE;
    while !told.iter().any(|t: &String| t == "order.completed") {
        let chunk = tokio::time::timeout_at(until, live.chunk())
            .await
            .expect("order.completed was never told")
            .unwrap()
            .expect("the live source ended");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            if frame.lines().any(|l| l == "event: changed") {
                // Every `changed` has data (a browser drops one without);
                // the ticks say `tick`.
                let data = frame
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .expect("a changed event without data");
                if data != "tick" {
                    told.push(data.to_owned());
                }
            }
        }
    }
    assert_eq!(
        told,
        ["order.paid", "order.confirmed", "order.completed"],
        "each of the order's changes, once, in order"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn dead_tasks_that_match_a_filter_are_retried_together_after_a_confirmation(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("console_bulk_retry", &db, Options::without_workers()).await;
    // Dead tasks of a kind no worker runs, so that retried ones stay put.
    for (kind, error) in [
        ("bulk_demo", "the mail server refused: 554"),
        ("bulk_demo", "The Mail Server refused: 421"),
        ("bulk_demo", "the mail server refused: 550"),
        ("bulk_demo", "a different failure"),
        ("other_kind", "the mail server refused: 554"),
    ] {
        sqlx::query(
            "INSERT INTO tasks (kind, payload, max_attempts, attempts, state, last_error, finished_at)
             VALUES ($1, '{}', 3, 3, 'dead', $2, now())",
        )
        .bind(kind)
        .bind(error)
        .execute(&system.pool)
        .await
        .unwrap();
    }
    let dead = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM tasks WHERE state = 'dead'")
            .fetch_one(&system.pool)
            .await
            .unwrap()
    };
    let (admin, _) = sign_in(&system, &system.admin_key, false).await;
    let listed = get_page(
        &system,
        "/ui/tasks?state=dead&kind=bulk_demo&error=MAIL+server",
        &admin,
    )
    .await
    .text()
    .await
    .unwrap();
    assert_eq!(
        listed.matches("mail server refused").count()
            + listed.matches("Mail Server refused").count(),
        3,
        "{listed}"
    );
    assert!(!listed.contains("a different failure"));
    assert!(listed.contains(r#"action="/ui/tasks/retry-dead""#));
    let csrf = csrf_of(&listed);
    let filter = "kind=bulk_demo&error=MAIL+server";

    // First the count, and nothing retried.
    let asked = post_form(
        &system,
        "/ui/tasks/retry-dead",
        Some(&admin),
        format!("csrf={csrf}&{filter}"),
    )
    .await;
    assert_eq!(asked.status(), 200);
    let asked = asked.text().await.unwrap();
    assert!(
        asked.contains("<strong>3</strong> dead tasks match"),
        "{asked}"
    );
    assert!(asked.contains(r#"name="confirm" value="3""#), "{asked}");
    assert_eq!(dead().await, 5);

    // Then, confirmed: those three, and only those, run again.
    let done = post_form(
        &system,
        "/ui/tasks/retry-dead",
        Some(&admin),
        format!("csrf={csrf}&{filter}&confirm=3"),
    )
    .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let back = done.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(back.contains("retried=3"), "{back}");
    assert_eq!(dead().await, 2);
    let still_dead: Vec<(String, String)> =
        sqlx::query_as("SELECT kind, last_error FROM tasks WHERE state = 'dead' ORDER BY kind")
            .fetch_all(&system.pool)
            .await
            .unwrap();
    assert_eq!(
        still_dead,
        [
            ("bulk_demo".to_owned(), "a different failure".to_owned()),
            (
                "other_kind".to_owned(),
                "the mail server refused: 554".to_owned()
            ),
        ]
    );
    let told = get_page(&system, &back, &admin).await.text().await.unwrap();
    assert!(told.contains("3 dead tasks were put back"), "{told}");

    // Without the session's token, nothing.
    let forged = post_form(
        &system,
        "/ui/tasks/retry-dead",
        Some(&admin),
        "kind=other_kind&confirm=1".into(),
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(dead().await, 2);
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_waiting_task_is_cancelled_but_a_saga_step_is_left_to_its_order(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("console_cancel", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    let order = system
        .place("console-cancel", "tok_visa", &[("MUG", 1)])
        .await;
    let step: i64 = sqlx::query_scalar("SELECT id FROM tasks WHERE order_id = $1::uuid")
        .bind(&order)
        .fetch_one(&system.pool)
        .await
        .unwrap();
    // A task of a kind no worker here runs: it waits.
    let waiting: i64 = sqlx::query_scalar(
        "INSERT INTO tasks (kind, payload, max_attempts) VALUES ('report_export', '{}', 3) RETURNING id",
    )
    .fetch_one(&system.pool)
    .await
    .unwrap();
    let state_of = |id: i64| {
        let pool = system.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT state::text FROM tasks WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let (admin, _) = sign_in(&system, &system.admin_key, false).await;

    let page = get_page(&system, &format!("/ui/tasks/{waiting}"), &admin)
        .await
        .text()
        .await
        .unwrap();
    let cancel = format!(r#"action="/ui/tasks/{waiting}/cancel""#);
    assert!(page.contains(&cancel), "{page}");
    let csrf = csrf_of(&page);
    let done = post_form(
        &system,
        &format!("/ui/tasks/{waiting}/cancel"),
        Some(&admin),
        format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(state_of(waiting).await, "cancelled");
    let after = get_page(&system, &format!("/ui/tasks/{waiting}"), &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(!after.contains(&cancel), "a cancelled task offers a cancel");

    // A saga step: no button, the page says why, and a POST is refused.
    let step_page = get_page(&system, &format!("/ui/tasks/{step}"), &admin)
        .await
        .text()
        .await
        .unwrap();
    assert!(!step_page.contains("/cancel\""), "{step_page}");
    assert!(step_page.contains("its order"), "{step_page}");
    let refused = post_form(
        &system,
        &format!("/ui/tasks/{step}/cancel"),
        Some(&admin),
        format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("cancel the order instead"),
        "the refusal does not say what to do"
    );
    assert_eq!(state_of(step).await, "available");
}
