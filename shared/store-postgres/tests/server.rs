//! The PostgreSQL adapters on a real server (the throw-away cluster
//! `tests/run` starts with `tests/postgres/start`): the shared conformance
//! suites, the concurrency races with independent pools as if they were
//! separate processes, and the migrations.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;
use switchyard_core::{Clock, ManualClock};
use switchyard_store::queue_conformance;
use switchyard_store::{DelayQueue, PolledQueue, StateStore, conformance};
use switchyard_store_postgres::{
    MIGRATIONS, Postgres, PostgresAuditStore, PostgresDelayQueue, PostgresSettings,
    PostgresStateStore, VISIBILITY_TIMEOUT,
};

/// Set to skip the tests that need PostgreSQL; without it a missing server
/// fails them (a green run never hides a skip).
const SKIP_POSTGRES: &str = "SWITCHYARD_SKIP_POSTGRES";

fn url() -> Option<String> {
    match std::env::var("SWITCHYARD_POSTGRES_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os(SKIP_POSTGRES).is_none() => panic!(
            "SWITCHYARD_POSTGRES_URL is not set: run the tests with tests/run, which starts PostgreSQL (or set {SKIP_POSTGRES}=1 to skip them, knowingly)"
        ),
        Err(_) => {
            eprintln!("skipped on purpose ({SKIP_POSTGRES} is set): needs PostgreSQL");
            None
        }
    }
}

/// Settings with a table prefix of this test's own.
fn fresh(url: &str, test: &str) -> PostgresSettings {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    PostgresSettings {
        prefix: format!("t_{test}_{}_", &suffix[..10]),
        pool_size: 4,
        ..PostgresSettings::new(url)
    }
}

async fn connect(settings: &PostgresSettings) -> Postgres {
    Postgres::connect(settings.clone())
        .await
        .expect("connect and migrate")
}

#[tokio::test]
async fn postgres_state_store_conforms() {
    let Some(url) = url() else { return };
    let pg = connect(&fresh(&url, "state")).await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let store = PostgresStateStore::new(pg, clock.clone());
    conformance::state_store(&store, &clock, "pg").await;
    assert!(
        conformance::purge(&store, &clock, "pg").await >= 1,
        "PostgreSQL keeps rows until the reaper deletes them"
    );
}

#[tokio::test]
async fn postgres_audit_store_conforms() {
    let Some(url) = url() else { return };
    let pg = connect(&fresh(&url, "audit")).await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let store = PostgresAuditStore::new(pg, clock.clone());
    conformance::audit_store(&store, &clock, "pg").await;
}

#[tokio::test]
async fn postgres_delay_queue_conforms() {
    let Some(url) = url() else { return };
    let pg = connect(&fresh(&url, "queue")).await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let queue = PostgresDelayQueue::new(pg, clock.clone());
    queue_conformance::polled_queue(&queue, &clock, "pg").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_is_atomic_across_independent_pools() {
    let Some(url) = url() else { return };
    let settings = fresh(&url, "race");
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut clients: Vec<Arc<dyn StateStore>> = Vec::new();
    for _ in 0..8 {
        // Eight pools: eight processes on one database.
        clients.push(Arc::new(PostgresStateStore::new(
            connect(&settings).await,
            clock.clone(),
        )));
    }
    conformance::concurrent_claims(&clients, 200, "pg").await;
    conformance::concurrent_counts(&clients, 100, 10, "pg").await;
    conformance::concurrent_leases(&clients, "pg").await;
    conformance::concurrent_takeover(&clients, &clock, "pg").await;
}

/// A message taken by a process that dies before settling it is delivered
/// again once the visibility timeout passes, with the delivery counted; and
/// four workers taking at once never get the same message.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_messages_survive_a_dead_taker_and_go_to_one_worker() {
    let Some(url) = url() else { return };
    let settings = fresh(&url, "takers");
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let queue = PostgresDelayQueue::new(connect(&settings).await, clock.clone());
    let message = queue_conformance::every_kind("crash").remove(0);
    queue
        .send(message.clone(), clock.now())
        .await
        .expect("send");
    let taken = queue.take(10).await.expect("take");
    assert_eq!(taken.len(), 1);
    drop(taken); // the taker "dies" here, never settling it
    clock.advance(
        chrono::Duration::from_std(VISIBILITY_TIMEOUT).expect("span")
            - chrono::Duration::seconds(1),
    );
    assert!(
        queue.take(10).await.expect("take").is_empty(),
        "still hidden"
    );
    clock.advance(chrono::Duration::seconds(2));
    let again = queue.take(10).await.expect("take");
    assert_eq!(again.len(), 1, "visible again");
    assert_eq!((again[0].attempt, &again[0].message), (2, &message));
    queue.ack(&again[0]).await.expect("ack");

    let mut sent = BTreeSet::new();
    for i in 0..200 {
        let mut m = message.clone();
        m.id = format!("race-{i}");
        sent.insert(m.id.clone());
        queue.send(m, clock.now()).await.expect("send");
    }
    let mut workers = Vec::new();
    for _ in 0..4 {
        let worker = PostgresDelayQueue::new(connect(&settings).await, clock.clone());
        workers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = worker.take(7).await.expect("take");
                if batch.is_empty() {
                    return got;
                }
                for t in batch {
                    worker.ack(&t).await.expect("ack");
                    got.push(t.message.id);
                }
            }
        }));
    }
    let mut delivered = Vec::new();
    for w in workers {
        delivered.extend(w.await.expect("worker"));
    }
    let unique: BTreeSet<String> = delivered.iter().cloned().collect();
    assert_eq!(delivered.len(), 200, "each message delivered once");
    assert_eq!(unique, sent, "and every one of them");
}

/// Instances starting together apply each migration once; starting again
/// applies nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_apply_once_when_instances_start_together() {
    let Some(url) = url() else { return };
    let settings = PostgresSettings {
        schema: Some(format!(
            "s_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        )),
        ..fresh(&url, "migrate")
    };
    let starts = (0..6).map(|_| Postgres::connect(settings.clone()));
    for result in futures_util::future::join_all(starts).await {
        result.expect("every instance starts");
    }
    let again = connect(&settings).await;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("inspect");
    tokio::spawn(connection);
    let versions = client
        .query(
            &format!(
                "SELECT version FROM {}.{}schema_migrations ORDER BY version",
                settings.schema.as_deref().unwrap_or_default(),
                settings.prefix
            ),
            &[],
        )
        .await
        .expect("versions");
    let versions: Vec<i32> = versions.iter().map(|r| r.get(0)).collect();
    let expected: Vec<i32> = MIGRATIONS.iter().map(|m| m.0).collect();
    assert_eq!(versions, expected, "each version recorded once");
    drop(again);
}

#[tokio::test]
async fn bad_settings_are_refused_before_any_sql() {
    for (settings, says) in [
        (
            PostgresSettings {
                prefix: "x; DROP TABLE y".into(),
                ..PostgresSettings::new("postgres://h/db")
            },
            "prefix",
        ),
        (
            PostgresSettings {
                pool_size: 0,
                ..PostgresSettings::new("postgres://h/db")
            },
            "pool_size",
        ),
        (PostgresSettings::new("not a url"), "url"),
    ] {
        let err = Postgres::connect(settings).await.expect_err(says);
        assert!(err.to_string().contains(says), "{err}");
    }
}
