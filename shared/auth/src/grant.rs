//! Grants: which tenants, namespaces, providers and action types a caller
//! may touch. Acteon's model: a grant covers a resource when every dimension
//! is `*` or equal; tenants also cover their dot-separated sub-tenants.

use serde::{Deserialize, Serialize};

pub const WILDCARD: &str = "*";

fn everything() -> Vec<String> {
    vec![WILDCARD.to_string()]
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub tenants: Vec<String>,
    pub namespaces: Vec<String>,
    /// Acteon files may omit it: every provider.
    #[serde(default = "everything")]
    pub providers: Vec<String>,
    pub actions: Vec<String>,
    /// Accepted for Acteon files (its agent bus); unused here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

/// What a request touches. `None` in `provider` or `action_type`: the
/// resource has no such dimension (a chain, a quota of every provider).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource<'a> {
    pub namespace: &'a str,
    pub tenant: &'a str,
    pub provider: Option<&'a str>,
    pub action_type: Option<&'a str>,
}

impl<'a> Resource<'a> {
    /// A tenant's data as a whole.
    pub fn tenant(namespace: &'a str, tenant: &'a str) -> Self {
        Self {
            namespace,
            tenant,
            provider: None,
            action_type: None,
        }
    }

    /// One action (dispatch, an audit record).
    pub fn action(
        namespace: &'a str,
        tenant: &'a str,
        provider: &'a str,
        action_type: &'a str,
    ) -> Self {
        Self {
            namespace,
            tenant,
            provider: Some(provider),
            action_type: Some(action_type),
        }
    }

    /// `tenant=T, namespace=N[, provider=P][, action=A]`.
    pub fn describe(&self) -> String {
        let mut out = format!("tenant={}, namespace={}", self.tenant, self.namespace);
        if let Some(p) = self.provider {
            out.push_str(&format!(", provider={p}"));
        }
        if let Some(a) = self.action_type {
            out.push_str(&format!(", action={a}"));
        }
        out
    }
}

fn exact_or_any(patterns: &[String], value: &str) -> bool {
    patterns.iter().any(|p| p == WILDCARD || p == value)
}

/// `acme` covers `acme` and `acme.us-east`, never `acme-corp`.
pub fn tenant_covered(patterns: &[String], tenant: &str) -> bool {
    patterns.iter().any(|p| {
        p == WILDCARD
            || p == tenant
            || tenant
                .strip_prefix(p.as_str())
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.'))
    })
}

fn optional_dimension(patterns: &[String], value: Option<&str>) -> bool {
    match value {
        Some(v) => exact_or_any(patterns, v),
        None => true,
    }
}

impl Grant {
    /// Every dimension `*`.
    pub fn everything() -> Self {
        Self {
            tenants: everything(),
            namespaces: everything(),
            providers: everything(),
            actions: everything(),
            agent_id: None,
        }
    }

    pub fn covers(&self, r: &Resource<'_>) -> bool {
        tenant_covered(&self.tenants, r.tenant)
            && exact_or_any(&self.namespaces, r.namespace)
            && optional_dimension(&self.providers, r.provider)
            && optional_dimension(&self.actions, r.action_type)
    }

    /// Every tenant and namespace (global operations need it).
    pub fn is_unrestricted(&self) -> bool {
        [
            &self.tenants,
            &self.namespaces,
            &self.providers,
            &self.actions,
        ]
        .iter()
        .all(|d| d.iter().any(|p| p == WILDCARD))
    }

    /// Whether everything `narrower` covers, this grant covers too (a key
    /// may only hand out what it holds).
    pub fn includes(&self, narrower: &Grant) -> bool {
        let dimension = |mine: &[String], theirs: &[String], tenants: bool| {
            if mine.iter().any(|p| p == WILDCARD) {
                return true;
            }
            theirs.iter().all(|v| {
                v != WILDCARD
                    && if tenants {
                        tenant_covered(mine, v)
                    } else {
                        mine.contains(v)
                    }
            })
        };
        dimension(&self.tenants, &narrower.tenants, true)
            && dimension(&self.namespaces, &narrower.namespaces, false)
            && dimension(&self.providers, &narrower.providers, false)
            && dimension(&self.actions, &narrower.actions, false)
    }

    /// A grant that names nothing would match nothing: refuse it early.
    pub fn validate(&self) -> Result<(), String> {
        for (name, values) in [
            ("tenants", &self.tenants),
            ("namespaces", &self.namespaces),
            ("providers", &self.providers),
            ("actions", &self.actions),
        ] {
            if values.is_empty() {
                return Err(format!("grant {name}: list at least one value or \"*\""));
            }
            if values.len() > 256 {
                return Err(format!("grant {name}: at most 256 values"));
            }
            if let Some(bad) = values
                .iter()
                .find(|v| v.is_empty() || v.len() > 256 || v.chars().any(char::is_control))
            {
                return Err(format!(
                    "grant {name}: '{}' is not a name (1 to 256 bytes, no control characters)",
                    bad.escape_debug()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(t: &[&str], n: &[&str], p: &[&str], a: &[&str]) -> Grant {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
        Grant {
            tenants: v(t),
            namespaces: v(n),
            providers: v(p),
            actions: v(a),
            agent_id: None,
        }
    }

    #[test]
    fn every_dimension_must_match() {
        let g = grant(&["acme"], &["shop"], &["email"], &["send"]);
        assert!(g.covers(&Resource::action("shop", "acme", "email", "send")));
        assert!(!g.covers(&Resource::action("shop", "acme", "email", "draft")));
        assert!(!g.covers(&Resource::action("shop", "acme", "sms", "send")));
        assert!(!g.covers(&Resource::action("ops", "acme", "email", "send")));
        assert!(!g.covers(&Resource::action("shop", "other", "email", "send")));
        assert!(
            g.covers(&Resource::tenant("shop", "acme")),
            "no provider dimension"
        );
    }

    #[test]
    fn tenants_cover_sub_tenants_one_way() {
        let g = grant(&["acme"], &["*"], &["*"], &["*"]);
        assert!(g.covers(&Resource::tenant("x", "acme.us-east")));
        assert!(g.covers(&Resource::tenant("x", "acme.us-east.prod")));
        assert!(!g.covers(&Resource::tenant("x", "acme-corp")));
        assert!(!g.covers(&Resource::tenant("x", "acme.")));
        let child = grant(&["acme.us-east"], &["*"], &["*"], &["*"]);
        assert!(!child.covers(&Resource::tenant("x", "acme")));
    }

    #[test]
    fn inclusion_never_widens() {
        let admin = grant(&["acme"], &["*"], &["*"], &["*"]);
        assert!(admin.includes(&grant(&["acme.eu"], &["shop"], &["email"], &["send"])));
        assert!(!admin.includes(&grant(&["*"], &["shop"], &["email"], &["send"])));
        assert!(!admin.includes(&grant(&["other"], &["shop"], &["*"], &["*"])));
        assert!(Grant::everything().includes(&Grant::everything()));
        let narrow = grant(&["acme"], &["shop"], &["*"], &["*"]);
        assert!(!narrow.includes(&grant(&["acme"], &["*"], &["*"], &["*"])));
    }

    #[test]
    fn acteon_files_may_omit_providers() {
        let g: Grant =
            toml::from_str("tenants = [\"a\"]\nnamespaces = [\"n\"]\nactions = [\"*\"]\n")
                .expect("grant");
        assert_eq!(g.providers, vec!["*"]);
        assert!(grant(&[], &["*"], &["*"], &["*"]).validate().is_err());
    }
}
