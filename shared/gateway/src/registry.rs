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
        self.index_put_until(kind, id, namespace, tenant, None)
            .await
    }

    /// A pointer that expires (for records that end by themselves: a stale
    /// pointer only costs a read that finds nothing).
    pub(crate) async fn index_put_until(
        &self,
        kind: &str,
        id: &str,
        namespace: &str,
        tenant: &str,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<(), GatewayError> {
        self.ports
            .state
            .put(
                &crate::keys::index_pointer(kind, id),
                &format!("{namespace}\n{tenant}"),
                expires_at,
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
        let (namespace, tenant) = crate::keys::INDEX;
        let kind = format!("{kind}_ref");
        let pointers =
            crate::records::list_all(self.ports.state.as_ref(), namespace, tenant, &kind).await?;
        Ok(pointers
            .into_iter()
            .filter_map(|(key, stored)| {
                let (ns, tenant) = stored.value.split_once('\n')?;
                Some((key.id, ns.to_string(), tenant.to_string()))
            })
            .collect())
    }
}
