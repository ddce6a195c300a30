//! The console's counts at scale: past the threshold the finished tasks are
//! the planner's estimates, marked as such, and the rest stay exact; the
//! queue's minutes add up what workers report.

use shared::queue::minutes::{self, KindTally};
use shared::queue::{self, TaskState};
use sqlx::PgPool;

use crate::helpers::*;

async fn insert(pool: &PgPool, n: i64, state: &str) {
    sqlx::query(
        "INSERT INTO tasks (kind, payload, state, attempts, max_attempts, finished_at)
         SELECT 'noop', '{}', $2::task_state, CASE WHEN $2 = 'available' THEN 0 ELSE 1 END, 5,
                CASE WHEN $2 = 'available' THEN NULL ELSE now() END
         FROM generate_series(1, $1)",
    )
    .bind(n)
    .bind(state)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn past_the_threshold_finished_tasks_are_estimated_and_the_rest_counted(pool: PgPool) {
    insert(&pool, 3_000, "completed").await;
    insert(&pool, 30, "available").await;
    insert(&pool, 5, "dead").await;
    sqlx::query("ANALYZE tasks").execute(&pool).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let kinds = [KIND.to_owned()];
    let of = |counts: &[queue::ScaledCount], state: TaskState| {
        counts
            .iter()
            .find(|c| c.state == state)
            .map(|c| (c.count, c.estimated))
    };

    let exact = queue::counts_at_scale(&mut conn, &kinds, i64::MAX)
        .await
        .unwrap();
    assert_eq!(of(&exact, TaskState::Completed), Some((3_000, false)));
    assert!(exact.iter().all(|c| !c.estimated));

    let scaled = queue::counts_at_scale(&mut conn, &kinds, 1_000)
        .await
        .unwrap();
    assert_eq!(of(&scaled, TaskState::Available), Some((30, false)));
    assert_eq!(of(&scaled, TaskState::Dead), Some((5, false)));
    let (completed, estimated) = of(&scaled, TaskState::Completed).unwrap();
    assert!(estimated);
    // ANALYZE read every row of a table this small: the estimate is close.
    assert!((2_700..=3_300).contains(&completed), "{completed}");
    // None cancelled: the planner's floor, one row.
    assert_eq!(of(&scaled, TaskState::Cancelled), Some((1, true)));
    // A kind only counted exactly still gets its finished tasks estimated.
    sqlx::query("INSERT INTO tasks (kind, max_attempts) VALUES ('other', 3)")
        .execute(&pool)
        .await
        .unwrap();
    let other = queue::counts_at_scale(&mut conn, &kinds, 1_000)
        .await
        .unwrap();
    assert!(
        other
            .iter()
            .any(|c| c.kind == "other" && c.state == TaskState::Completed && c.estimated),
        "{other:?}"
    );
}

#[sqlx::test(migrator = "shared::MIGRATOR")]
async fn the_minutes_add_up_what_workers_report(pool: PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    let report = |succeeded, started, wait_ms_total, wait_ms_max| {
        vec![(
            KIND.to_owned(),
            KindTally {
                succeeded,
                retried: 1,
                dead: 0,
                started,
                wait_ms_total,
                wait_ms_max,
            },
        )]
    };
    minutes::add(&mut conn, &report(3, 2, 400, 300))
        .await
        .unwrap();
    minutes::add(&mut conn, &report(2, 1, 50, 50))
        .await
        .unwrap();

    let hour = minutes::last_hour(&mut conn).await.unwrap();
    assert_eq!(hour.len(), 61, "every minute of the hour and this one");
    assert!(hour.windows(2).all(|w| w[0].minute < w[1].minute));
    // Both reports, in this minute (or, across a minute's turn, the last two).
    let counted: Vec<_> = hour.iter().filter(|m| m.started > 0).collect();
    assert!(counted.iter().all(|m| m.minute >= hour[59].minute));
    let sum = |f: fn(&minutes::Minute) -> i64| counted.iter().map(|m| f(m)).sum::<i64>();
    assert_eq!(
        (sum(|m| m.succeeded), sum(|m| m.retried), sum(|m| m.started)),
        (5, 2, 3)
    );
    assert_eq!(
        counted.iter().filter_map(|m| m.wait_ms_max).max(),
        Some(300)
    );
    if counted.len() == 1 {
        assert_eq!(counted[0].wait_ms_mean, Some(150.0));
    }
    assert!(
        hour[..59]
            .iter()
            .all(|m| m.succeeded == 0 && m.wait_ms_mean.is_none())
    );
}
