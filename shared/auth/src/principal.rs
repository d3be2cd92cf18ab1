//! Who is calling: an identity with a role and grants.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::grant::{Grant, Resource};

/// Ordered: each role can do what the ones before it can.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Role, String> {
        match text {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role '{other}' (admin, operator or viewer)"
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the caller proved who it is (the audit's `auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Auth is disabled: everyone is an anonymous admin (Acteon's default).
    Anonymous,
    ApiKey,
    Jwt,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Anonymous => "anonymous",
            AuthMethod::ApiKey => "api_key",
            AuthMethod::Jwt => "jwt",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Key name, user name, or stored key id: unique per caller.
    pub id: String,
    pub role: Role,
    pub grants: Vec<Grant>,
    pub method: AuthMethod,
}

/// Why a request is refused although the caller is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("insufficient permissions: {what} requires the {needed} role (this caller is {has})")]
    Role {
        what: String,
        needed: Role,
        has: Role,
    },
    #[error("forbidden: no grant covers {0}")]
    Grant(String),
    #[error(
        "forbidden: {0} acts on every tenant and needs a grant of tenants, namespaces, providers and actions \"*\""
    )]
    Global(String),
}

impl Principal {
    /// What every request is when auth is disabled (as in Acteon).
    pub fn anonymous() -> Self {
        Self {
            id: "anonymous".into(),
            role: Role::Admin,
            grants: vec![Grant::everything()],
            method: AuthMethod::Anonymous,
        }
    }

    pub fn require_role(&self, needed: Role, what: &str) -> Result<(), Denied> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(Denied::Role {
                what: what.to_string(),
                needed,
                has: self.role,
            })
        }
    }

    pub fn covers(&self, resource: &Resource<'_>) -> bool {
        self.grants.iter().any(|g| g.covers(resource))
    }

    pub fn authorize(&self, resource: &Resource<'_>) -> Result<(), Denied> {
        if self.covers(resource) {
            Ok(())
        } else {
            Err(Denied::Grant(resource.describe()))
        }
    }

    /// Some grant covers everything.
    pub fn is_unrestricted(&self) -> bool {
        self.grants.iter().any(Grant::is_unrestricted)
    }

    pub fn require_unrestricted(&self, what: &str) -> Result<(), Denied> {
        if self.is_unrestricted() {
            Ok(())
        } else {
            Err(Denied::Global(what.to_string()))
        }
    }

    /// Each of `grants` lies within one of ours: a key never creates a key
    /// that can do more than itself.
    pub fn may_delegate(&self, grants: &[Grant]) -> bool {
        grants
            .iter()
            .all(|wanted| self.grants.iter().any(|mine| mine.includes(wanted)))
    }

    /// The one value a dimension can take for this caller, when its grants
    /// name exactly one and no wildcard (scoping an unfiltered list).
    pub fn only_value<'a>(&'a self, pick: impl Fn(&'a Grant) -> &'a [String]) -> Option<&'a str> {
        let mut only: Option<&str> = None;
        for grant in &self.grants {
            for value in pick(grant) {
                if value == crate::grant::WILDCARD {
                    return None;
                }
                match only {
                    None => only = Some(value),
                    Some(seen) if seen == value => {}
                    Some(_) => return None,
                }
            }
        }
        only
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant_key(tenant: &str, role: Role) -> Principal {
        Principal {
            id: "k".into(),
            role,
            grants: vec![Grant {
                tenants: vec![tenant.into()],
                namespaces: vec!["shop".into()],
                providers: vec!["*".into()],
                actions: vec!["*".into()],
                agent_id: None,
            }],
            method: AuthMethod::ApiKey,
        }
    }

    #[test]
    fn roles_are_ordered() {
        let viewer = tenant_key("acme", Role::Viewer);
        assert!(viewer.require_role(Role::Viewer, "read").is_ok());
        let err = viewer
            .require_role(Role::Operator, "dispatch")
            .expect_err("denied");
        assert!(
            err.to_string().contains("requires the operator role"),
            "{err}"
        );
        assert!(
            tenant_key("a", Role::Admin)
                .require_role(Role::Operator, "x")
                .is_ok()
        );
    }

    #[test]
    fn denial_names_the_uncovered_resource() {
        let key = tenant_key("acme", Role::Operator);
        let err = key
            .authorize(&Resource::action("shop", "globex", "email", "send"))
            .expect_err("other tenant");
        assert_eq!(
            err.to_string(),
            "forbidden: no grant covers tenant=globex, namespace=shop, provider=email, action=send"
        );
        assert!(!key.is_unrestricted());
        assert!(Principal::anonymous().is_unrestricted());
    }

    #[test]
    fn single_valued_dimensions_scope_lists() {
        let key = tenant_key("acme", Role::Viewer);
        assert_eq!(key.only_value(|g| &g.tenants), Some("acme"));
        assert_eq!(key.only_value(|g| &g.providers), None);
        assert_eq!(Principal::anonymous().only_value(|g| &g.tenants), None);
    }
}
