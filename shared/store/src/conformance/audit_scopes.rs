//! Audit queries a store may answer from a different layout than the
//! tenant's: a whole namespace (every tenant in it) and one action id.

use std::collections::BTreeSet;

use switchyard_core::AuditQuery;

use super::record;
use crate::audit::AuditStore;

pub(super) async fn namespace_and_action_queries(store: &dyn AuditStore, run: &str) {
    let scope_run = format!("{run}-scopes");
    let namespace = format!("{scope_run}-ns");
    for (n, tenant) in [(0, "t1"), (1, "t2"), (2, "t3")] {
        store
            .append(record(&scope_run, n, tenant, "executed", None))
            .await
            .expect("append");
    }
    // A neighbouring namespace whose name extends this one's.
    let mut neighbour = record(&scope_run, 3, "t1", "executed", None);
    neighbour.namespace = format!("{namespace}x");
    store.append(neighbour).await.expect("append");

    let wide = store
        .query(&AuditQuery {
            namespace: Some(namespace.clone()),
            limit: 50,
            ..AuditQuery::default()
        })
        .await
        .expect("query");
    let tenants: BTreeSet<&str> = wide.records.iter().map(|r| r.tenant.as_str()).collect();
    assert_eq!(
        (wide.total, tenants),
        (3, BTreeSet::from(["t1", "t2", "t3"])),
        "a namespace query finds every tenant's records and no other namespace's"
    );
    assert!(
        wide.records.windows(2).all(|w| w[0].id > w[1].id),
        "newest first"
    );

    let by_action = store
        .query(&AuditQuery {
            action_id: Some(format!("{scope_run}-action-1")),
            limit: 50,
            ..AuditQuery::default()
        })
        .await
        .expect("query");
    assert_eq!(by_action.total, 1);
    assert_eq!(by_action.records[0].tenant, "t2");
}
