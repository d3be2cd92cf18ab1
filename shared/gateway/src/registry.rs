//! Records found by id alone (quota, retention, recurring ids in URLs) keep a
//! pointer in a system partition: id → the tenant that holds the record.

use crate::error::GatewayError;
use crate::gateway::Gateway;

impl Gateway {
    pub(crate) async fn index_put(
        &self,
        kind: &str,
        id: &str,
        namespace: &str,
        tenant: &str,
    ) -> Result<(), GatewayError> {
        self.ports
            .state
            .put(
                &crate::keys::index_pointer(kind, id),
                &format!("{namespace}\n{tenant}"),
                None,
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn index_get(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<(String, String)>, GatewayError> {
        Ok(self
            .ports
            .state
            .get(&crate::keys::index_pointer(kind, id))
            .await?
            .and_then(|v| {
                v.value
                    .split_once('\n')
                    .map(|(n, t)| (n.to_string(), t.to_string()))
            }))
    }

    pub(crate) async fn index_delete(&self, kind: &str, id: &str) -> Result<(), GatewayError> {
        self.ports
            .state
            .delete(&crate::keys::index_pointer(kind, id))
            .await?;
        Ok(())
    }

    /// Every (id, namespace, tenant) of a kind.
    pub(crate) async fn index_list(
        &self,
        kind: &str,
    ) -> Result<Vec<(String, String, String)>, GatewayError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .ports
                .state
                .list(
                    crate::keys::INDEX.0,
                    crate::keys::INDEX.1,
                    &format!("{kind}_ref"),
                    cursor.as_deref(),
                    200,
                )
                .await?;
            for (key, value) in page.items {
                if let Some((ns, tenant)) = value.value.split_once('\n') {
                    out.push((key.id, ns.to_string(), tenant.to_string()));
                }
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(out),
            }
        }
    }
}
