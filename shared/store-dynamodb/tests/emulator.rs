//! The DynamoDB adapters on the emulator: the shared conformance suite and the
//! concurrency tests, with independent clients as if they were separate
//! Lambda instances.

use std::sync::Arc;

use chrono::Utc;
use switchyard_core::ManualClock;
use switchyard_store::{StateStore, conformance};
use switchyard_store_dynamodb::{
    DynamoAuditStore, DynamoSettings, DynamoStateStore, connect, schema,
};

/// Set to skip the tests that need the emulator (as in `switchyard-tests`).
const SKIP_EMULATOR: &str = "SWITCHYARD_SKIP_EMULATOR";

/// The emulator endpoint `tests/run` exported. A missing emulator is a
/// failure, never a silent skip, unless [`SKIP_EMULATOR`] is set.
fn endpoint() -> Option<String> {
    match std::env::var("SWITCHYARD_DYNAMODB_ENDPOINT") {
        Ok(url) => Some(url),
        Err(_) if std::env::var_os(SKIP_EMULATOR).is_none() => {
            panic!(
                "SWITCHYARD_DYNAMODB_ENDPOINT is not set: run the tests with tests/run, which starts the emulator (or set {SKIP_EMULATOR}=1 to skip the emulator's tests, knowingly)"
            )
        }
        Err(_) => {
            eprintln!("skipped on purpose ({SKIP_EMULATOR} is set): needs the emulator");
            None
        }
    }
}

/// Fresh tables for one test, named after it.
async fn tables(endpoint: &str, test: &str) -> DynamoSettings {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let settings = DynamoSettings {
        region: "us-east-1".into(),
        endpoint_url: Some(endpoint.to_string()),
        state_table: format!("state-{test}-{}", &suffix[..8]),
        audit_table: format!("audit-{test}-{}", &suffix[..8]),
        state_shards: 8,
        audit_shards: 8,
    };
    let client = connect(&settings, None).await;
    schema::create_table(&client, "StateTable", &settings.state_table)
        .await
        .expect("state table");
    schema::create_table(&client, "AuditTable", &settings.audit_table)
        .await
        .expect("audit table");
    settings
}

#[tokio::test]
async fn dynamodb_state_store_conforms() {
    let Some(url) = endpoint() else { return };
    let settings = tables(&url, "conf").await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let store =
        DynamoStateStore::from_settings(connect(&settings, None).await, &settings, clock.clone());
    conformance::state_store(&store, &clock, "ddb").await;
    // DynamoDB's TTL removes items itself: the pass only checks nothing live goes.
    conformance::purge(&store, &clock, "ddb").await;
}

#[tokio::test]
async fn dynamodb_audit_store_conforms() {
    let Some(url) = endpoint() else { return };
    let settings = tables(&url, "audit").await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let store =
        DynamoAuditStore::from_settings(connect(&settings, None).await, &settings, clock.clone());
    conformance::audit_store(&store, &clock, "ddb").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_is_atomic_across_independent_clients() {
    let Some(url) = endpoint() else { return };
    let settings = tables(&url, "race").await;
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let mut clients: Vec<Arc<dyn StateStore>> = Vec::new();
    for _ in 0..8 {
        // Eight separate SDK clients and connection pools: eight "Lambda instances".
        clients.push(Arc::new(DynamoStateStore::from_settings(
            connect(&settings, None).await,
            &settings,
            clock.clone(),
        )));
    }
    conformance::concurrent_claims(&clients, 200, "ddb").await;
    conformance::concurrent_counts(&clients, 100, 10, "ddb").await;
    conformance::concurrent_leases(&clients, "ddb").await;
    conformance::concurrent_takeover(&clients, &clock, "ddb").await;
}

/// An audit table of the layout before 2026-12 (keyed by `id` alone) would
/// take the writes and fail every lookup by action: start-up refuses it.
#[tokio::test]
async fn an_audit_table_of_the_old_layout_is_refused() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let Some(url) = endpoint() else { return };
    let settings = tables(&url, "oldkey").await;
    let client = connect(&settings, None).await;
    let old = format!("{}-old", settings.audit_table);
    client
        .create_table()
        .table_name(&old)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        )
        .send()
        .await
        .expect("old table");
    let err = schema::create_table(&client, "AuditTable", &old)
        .await
        .expect_err("an old audit table is refused");
    assert!(
        err.contains("with the key (id)") && err.contains("keys it (action_id, id)"),
        "{err}"
    );
    // The table of this layout, existing already, is accepted as it is.
    schema::create_table(&client, "AuditTable", &settings.audit_table)
        .await
        .expect("an existing table of this layout");
}
