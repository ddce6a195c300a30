//! The console in a real headless Chromium, as an operator uses it: sign
//! in through the form; watch an order's page follow the saga with no
//! reload; find a dead step, retry it, and watch its order complete; pause
//! a kind from the overview and resume it; and, as a read-only key and as a
//! forger, find no buttons and get 403s. Each page is kept as a screenshot
//! (see [`crate::browser`]).

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::browser::Browser;
use crate::system::{Options, System};

/// Marks the page in the browser's memory: a reload would forget it.
const MARK: &str = "window.__sameDocument = true;";
const STILL_MARKED: &str = "return window.__sameDocument === true;";

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn in_a_browser_an_operator_signs_in_and_watches_an_order_complete_without_reloading(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let mut system = System::start("browser_live", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    let browser = Browser::open(&system.api).await;
    browser.goto("/ui").await;
    browser.wait_for_path("/ui/sign-in").await;
    browser.screenshot("sign-in").await;
    browser.sign_in(&system.admin_key).await;
    // The session is in an HttpOnly cookie: no script on the page reads it.
    let cookies = browser.run("return document.cookie;").await;
    assert!(
        !cookies.as_str().unwrap().contains("asynccheckout_console"),
        "the session cookie is readable from scripts: {cookies}"
    );

    // No worker yet: the order waits as pending.
    let order = system
        .place("browser-live", "tok_visa", &[("MUG", 2)])
        .await;
    browser.goto(&format!("/ui/orders/{order}")).await;
    browser.wait_for_text("#order-status", "pending").await;
    browser.run(MARK).await;
    browser.screenshot("order-pending").await;

    // A worker starts; the same page shows each step as it commits.
    system.start_worker(0, &[]).await;
    browser.wait_for_text("#order-status", "completed").await;
    assert_eq!(
        browser.run(STILL_MARKED).await,
        true,
        "the page was reloaded"
    );
    let story = browser.main_text().await;
    for shown in [
        "charge_payment",
        "reserve_inventory",
        "send_confirmation",
        "order.completed",
    ] {
        assert!(
            story.contains(shown),
            "{shown} is not on the page:\n{story}"
        );
    }
    browser.screenshot("order").await;

    // The other pages, for the record, each answered.
    browser.goto("/ui").await;
    browser.wait_for_text("main", "Workers").await;
    browser.wait_for_text("main", "worker-0").await;
    browser.screenshot("overview").await;
    browser.goto("/ui/tasks").await;
    browser.wait_for_text("main", "send_confirmation").await;
    browser.screenshot("tasks").await;
    browser.goto("/ui/orders?q=ada@example.com").await;
    browser.wait_for_text("main", &order).await;
    browser.screenshot("orders").await;
    browser.close().await;
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn in_a_browser_a_dead_step_is_found_retried_and_its_order_completes(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    // The worker's mail server refuses every connection: the confirmation
    // fails every attempt and dies, and the order stays confirmed.
    let mut system = System::start("browser_retry", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    system.start_worker_that_cannot_mail(0).await;
    let order = system
        .place("browser-retry", "tok_visa", &[("MUG", 1)])
        .await;
    system.dead_task_of(&order).await;
    // The mail server is mended: a worker that can reach it takes over.
    system.workers[0].kill().await.unwrap();
    system.start_worker(1, &[]).await;

    let browser = Browser::open(&system.api).await;
    browser.sign_in(&system.admin_key).await;
    browser.click("nav a[href='/ui/tasks']").await;
    browser.wait_for_path("/ui/tasks").await;
    browser.fill("#state", "dead").await;
    browser
        .click("main form[method=get] button[type=submit]")
        .await;
    browser
        .wait_for_text("main table", "send_confirmation")
        .await;
    browser.screenshot("tasks-dead").await;
    browser.click("main table tbody tr td a").await;
    browser.wait_for_text("main", "Attempts").await;
    let task_page = browser.main_text().await;
    assert!(task_page.contains("dead"), "{task_page}");
    assert!(
        task_page.contains("127.0.0.1") || task_page.to_lowercase().contains("connect"),
        "the attempts do not say why they failed:\n{task_page}"
    );
    browser.screenshot("task-dead").await;

    let task_path = browser.path().await;
    browser.run(MARK).await;
    browser.click("main form[action$='/retry'] button").await;
    // The task's page again, loaded anew, which no longer offers a retry.
    browser.wait_for_new_document().await;
    browser.wait_for_path(&task_path).await;
    browser.wait_for("main h1").await;
    assert_eq!(browser.count("main form[action$='/retry']").await, 0);
    let state: String = sqlx::query_scalar(
        "SELECT state::text FROM tasks WHERE order_id = $1::uuid AND kind = 'send_confirmation'",
    )
    .bind(&order)
    .fetch_one(&system.pool)
    .await
    .unwrap();
    assert_ne!(state, "dead", "the retry did not take");
    browser.goto(&format!("/ui/orders/{order}")).await;
    browser.wait_for_text("#order-status", "completed").await;
    assert_eq!(system.mail.messages().len(), 1);
    browser.close().await;
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn in_a_browser_a_paused_kind_holds_its_orders_until_resumed(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("browser_pause", &db, Options::default()).await;
    system.create_product("MUG", 1250, 5).await;
    let browser = Browser::open(&system.api).await;
    browser.sign_in(&system.admin_key).await;
    browser
        .click("form[action='/ui/queues/send_confirmation/pause'] button")
        .await;
    browser.wait_for_text("main", "paused by").await;
    assert_eq!(
        browser
            .count("form[action='/ui/queues/send_confirmation/resume']")
            .await,
        1
    );
    browser.screenshot("overview-paused").await;

    // The order goes as far as its confirmation, which waits; a second one
    // placed after it goes as far, so the worker has passed the first's
    // confirmation by, due as it was.
    let first = system
        .place("browser-pause-1", "tok_visa", &[("MUG", 1)])
        .await;
    browser.goto(&format!("/ui/orders/{first}")).await;
    browser.wait_for_text("#order-status", "confirmed").await;
    browser.run(MARK).await;
    let second = system
        .place("browser-pause-2", "tok_visa", &[("MUG", 1)])
        .await;
    system.wait_for_status(&second, "confirmed").await;
    let waiting: (String, i32) = sqlx::query_as(
        "SELECT state::text, attempts FROM tasks WHERE order_id = $1::uuid AND kind = 'send_confirmation'",
    )
    .bind(&first)
    .fetch_one(&system.pool)
    .await
    .unwrap();
    assert_eq!(waiting, ("available".to_owned(), 0));
    assert_eq!(
        browser.main_text().await.matches("order.completed").count(),
        0
    );
    browser.screenshot("order-waiting").await;

    // Resumed from the overview, both orders finish.
    browser.goto("/ui").await;
    browser
        .click("form[action='/ui/queues/send_confirmation/resume'] button")
        .await;
    browser
        .wait_for("form[action='/ui/queues/send_confirmation/pause']")
        .await;
    assert_eq!(system.settled(&first).await["status"], "completed");
    assert_eq!(system.settled(&second).await["status"], "completed");
    browser.goto(&format!("/ui/orders/{first}")).await;
    browser.wait_for_text("#order-status", "completed").await;
    browser.close().await;
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn in_a_browser_a_read_only_key_sees_no_buttons_and_forged_posts_are_refused(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let system = System::start("browser_readonly", &db, Options::without_workers()).await;
    system.create_product("MUG", 1250, 5).await;
    system.place("browser-ro", "tok_visa", &[("MUG", 1)]).await;
    sqlx::query(
        "INSERT INTO tasks (kind, payload, max_attempts, attempts, state, last_error, finished_at)
         VALUES ('noop', '{}', 1, 1, 'dead', 'it failed', now())",
    )
    .execute(&system.pool)
    .await
    .unwrap();
    let paused = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM queue_paused_kinds")
            .fetch_one(&system.pool)
            .await
            .unwrap()
    };

    // A key that may only read: the same pages, with no action on them.
    let (_, reader) = system.create_key("reader", &["orders:read"]).await;
    let browser = Browser::open(&system.api).await;
    browser.sign_in(&reader).await;
    browser.wait_for_text("header", "read-only").await;
    browser.wait_for_text("main", "charge_payment").await;
    browser.screenshot("overview-read-only").await;
    assert_eq!(browser.count("main form[method=post]").await, 0);
    browser.goto("/ui/tasks").await;
    browser.wait_for_text("main", "it failed").await;
    assert_eq!(browser.count("main form[method=post]").await, 0);
    // Its own session's token does not make a forged action its.
    let csrf = browser
        .run("return document.querySelector('form[action=\"/ui/sign-out\"] input[name=csrf]').value;")
        .await;
    let csrf = csrf.as_str().unwrap().to_owned();
    let forged = browser
        .post_by_hand("/ui/queues/charge_payment/pause", &format!("csrf={csrf}"))
        .await;
    assert_eq!(forged, 403);
    assert_eq!(paused().await, 0);
    browser.click("form[action='/ui/sign-out'] button").await;
    browser.wait_for_path("/ui/sign-in").await;
    browser.goto("/ui").await;
    browser.wait_for_path("/ui/sign-in").await;

    // An admin's session, but a POST without its CSRF token: refused.
    browser.sign_in(&system.admin_key).await;
    assert!(browser.count("main form[method=post]").await > 0);
    let no_token = browser
        .post_by_hand("/ui/queues/charge_payment/pause", "")
        .await;
    assert_eq!(no_token, 403);
    let wrong_token = browser
        .post_by_hand("/ui/queues/charge_payment/pause", &format!("csrf={csrf}"))
        .await;
    assert_eq!(
        wrong_token, 403,
        "the signed-out session's token still works"
    );
    assert_eq!(paused().await, 0);
    browser.close().await;
}
