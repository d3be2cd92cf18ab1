/// Kinds a tenant keeps few records of and the gateway reads as a whole set
/// on the dispatch path (the quota policies, refreshed every few seconds per
/// process). An adapter that spreads a tenant's records over partitions
/// keeps these kinds together, so reading the set stays one query.
pub const WHOLE_SET_KINDS: &[&str] = &["quota"];

/// Address of a state record: a tenant's partition plus a kind and an id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateKey {
    pub namespace: String,
    pub tenant: String,
    pub kind: String,
    pub id: String,
}

impl StateKey {
    pub fn new(
        namespace: impl Into<String>,
        tenant: impl Into<String>,
        kind: impl Into<String>,
        id: impl Into<String>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            tenant: tenant.into(),
            kind: kind.into(),
            id: id.into(),
        }
    }

    /// Human-readable form for logs and errors: `ns:tenant:kind:id`.
    pub fn display(&self) -> String {
        format!(
            "{}:{}:{}:{}",
            self.namespace, self.tenant, self.kind, self.id
        )
    }
}
