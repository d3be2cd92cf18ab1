//! The client's choice of events (query string), checked on the server.

use serde::Deserialize;
use switchyard_core::AuditRecord;

use super::event::event_type;

#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct StreamFilter {
    pub(crate) namespace: Option<String>,
    pub(crate) tenant: Option<String>,
    action_type: Option<String>,
    outcome: Option<String>,
    event_type: Option<String>,
    chain_id: Option<String>,
    group_id: Option<String>,
    action_id: Option<String>,
}

impl StreamFilter {
    pub(crate) fn matches(&self, r: &AuditRecord) -> bool {
        let eq = |f: &Option<String>, v: &str| f.as_deref().is_none_or(|f| f == v);
        let group_id = r
            .verdict_details
            .get("group_id")
            .and_then(|g| g.as_str())
            .unwrap_or_default();
        eq(&self.namespace, &r.namespace)
            && eq(&self.tenant, &r.tenant)
            && eq(&self.action_type, &r.action_type)
            && eq(&self.outcome, &r.outcome)
            && eq(&self.event_type, event_type(r))
            && eq(&self.chain_id, r.chain_id.as_deref().unwrap_or_default())
            && eq(&self.group_id, group_id)
            && eq(&self.action_id, &r.action_id)
    }
}
