//! `send_confirmation`: one email, then the order is completed.

use mock_gateway::Faults;
use shared::orders::OrderStatus;
use shared::queue::ClaimedTask;
use sqlx::PgPool;

use super::harness::Saga;
use crate::StepError;
use crate::steps::send_confirmation::SendConfirmation;

/// The names of the files in the mail folder, sorted.
fn mail_files(saga: &Saga) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&saga.mail_dir)
        .map(|dir| {
            dir.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn mails(saga: &Saga) -> usize {
    mail_files(saga).len()
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn a_confirmed_order_is_mailed_once_and_completed(pool: PgPool) {
    let saga = Saga::start(pool, Faults::default(), 5).await;
    let task = saga.order_at(OrderStatus::Confirmed, "tok_visa", 1).await;

    saga.run(&SendConfirmation(saga.deps.clone()), &task)
        .await
        .expect("the step succeeds");

    assert_eq!(saga.order(&task).await.status, OrderStatus::Completed);
    let order = task.order_id.expect("an order");
    assert_eq!(
        mail_files(&saga),
        [format!("order-{order}.eml")],
        "named after the order"
    );

    // Sent again (a crash between sending and recording): a second file,
    // the first kept.
    saga.deps
        .mailer
        .send(
            lettre::Message::builder()
                .from(saga.deps.mailer.from.clone())
                .to(saga.deps.mailer.from.clone())
                .subject("again")
                .message_id(Some(format!("<order-{order}@asynccheckout>")))
                .body(String::from("again"))
                .expect("a message"),
        )
        .await
        .expect("written");
    assert_eq!(
        mail_files(&saga),
        [format!("order-{order}.2.eml"), format!("order-{order}.eml")]
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn an_order_that_is_not_confirmed_is_not_mailed_and_never_will_be(pool: PgPool) {
    let saga = Saga::start(pool, Faults::default(), 5).await;
    let task = saga.order_at(OrderStatus::Confirmed, "tok_visa", 1).await;
    let mut conn = saga.pool.acquire().await.expect("a connection");
    let completed = shared::orders::Transition::new(
        task.order_id.expect("an order"),
        OrderStatus::Confirmed,
        OrderStatus::Completed,
        "completed elsewhere",
    );
    shared::orders::transition(&mut conn, &completed)
        .await
        .expect("a charted move");

    // The claim brought the order along as it was then (confirmed); a task
    // claimed without it reads it, and finds it completed.
    let task = ClaimedTask {
        order: None,
        ..task
    };

    let result = saga.run(&SendConfirmation(saga.deps.clone()), &task).await;

    assert!(matches!(result, Err(StepError::Permanent(_))), "{result:?}");
    assert_eq!(mails(&saga), 0);
}
