//! Who may call which route: one table, read by the authorization
//! middleware, written out in README ("Routes and roles"), and walked by the
//! authorization matrix test. A route missing here is refused (fail closed).

use switchyard_auth::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credentials needed.
    Public,
    /// A signed approval link in the query, or a key with this role.
    LinkOrRole(Role),
    /// A key with at least this role; tenant data is further limited to the
    /// key's grants by the handler.
    Role(Role),
    /// A key with at least this role and a grant of `*` in every dimension:
    /// the route acts on every tenant (rules, keys).
    Global(Role),
}

impl Access {
    /// For README: `public`, `viewer`, `operator or link`, `admin (all tenants)`.
    pub fn describe(self) -> String {
        match self {
            Access::Public => "public".into(),
            Access::LinkOrRole(role) => format!("signed link, or {role}"),
            Access::Role(role) => role.to_string(),
            Access::Global(role) => format!("{role} with grants on every tenant"),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RouteAccess {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn route(method: &'static str, path: &'static str, access: Access) -> RouteAccess {
    RouteAccess {
        method,
        path,
        access,
    }
}

use Access::{Global, LinkOrRole, Public};
const VIEWER: Access = Access::Role(Role::Viewer);
const OPERATOR: Access = Access::Role(Role::Operator);
const ADMIN: Access = Access::Role(Role::Admin);

pub const ROUTES: &[RouteAccess] = &[
    route("GET", "/openapi.json", Public),
    // The console's files: no data (the page calls the API with a key).
    route("GET", "/ui", Public),
    route("GET", "/ui/console.js", Public),
    route("GET", "/ui/console.css", Public),
    route("GET", "/health", Public),
    route("GET", "/metrics", Public),
    // Public in Acteon; its labels name tenants, so with [auth] on it takes
    // a viewer key with grants on every tenant (a scraper's credential).
    route("GET", "/metrics/prometheus", Global(Role::Viewer)),
    route("POST", "/v1/auth/login", Public),
    route("GET", "/v1/auth/keys", Global(Role::Admin)),
    route("POST", "/v1/auth/keys", Global(Role::Admin)),
    route("DELETE", "/v1/auth/keys/{id}", Global(Role::Admin)),
    route("GET", "/v1/circuit-breakers", VIEWER),
    route("GET", "/v1/providers/health", VIEWER),
    route("GET", "/v1/dead-letters", Global(Role::Viewer)),
    route("POST", "/v1/dead-letters/drain", Global(Role::Admin)),
    route("POST", "/v1/dead-letters/{id}/replay", Global(Role::Admin)),
    route("GET", "/v1/dlq/stats", Global(Role::Viewer)),
    route("POST", "/v1/dlq/drain", Global(Role::Admin)),
    route("POST", "/v1/dispatch", OPERATOR),
    route("POST", "/v1/dispatch/batch", OPERATOR),
    route("GET", "/v1/rules", VIEWER),
    route("POST", "/v1/rules/reload", Global(Role::Admin)),
    route("POST", "/v1/rules/evaluate", VIEWER),
    route("PUT", "/v1/rules/{name}/enabled", Global(Role::Admin)),
    route("GET", "/v1/audit", VIEWER),
    route("GET", "/v1/audit/{action_id}", VIEWER),
    route("GET", "/v1/quotas", VIEWER),
    route("POST", "/v1/quotas", ADMIN),
    route("GET", "/v1/quotas/{id}", VIEWER),
    route("PUT", "/v1/quotas/{id}", ADMIN),
    route("DELETE", "/v1/quotas/{id}", ADMIN),
    route("GET", "/v1/quotas/{id}/usage", VIEWER),
    route("GET", "/v1/approvals", VIEWER),
    route(
        "GET",
        "/v1/approvals/{namespace}/{tenant}/{id}",
        LinkOrRole(Role::Viewer),
    ),
    route(
        "POST",
        "/v1/approvals/{namespace}/{tenant}/{id}/approve",
        LinkOrRole(Role::Operator),
    ),
    route(
        "POST",
        "/v1/approvals/{namespace}/{tenant}/{id}/reject",
        LinkOrRole(Role::Operator),
    ),
    route("GET", "/v1/chains", VIEWER),
    route("GET", "/v1/chains/{id}", VIEWER),
    route("POST", "/v1/chains/{id}/cancel", OPERATOR),
    route("GET", "/v1/groups", VIEWER),
    route("GET", "/v1/groups/{key}", VIEWER),
    route("DELETE", "/v1/groups/{key}", OPERATOR),
    route("GET", "/v1/events", VIEWER),
    route("GET", "/v1/events/{fingerprint}", VIEWER),
    route("GET", "/v1/events/{fingerprint}/history", VIEWER),
    route("PUT", "/v1/events/{fingerprint}/transition", OPERATOR),
    route("GET", "/v1/stream", VIEWER),
    route("GET", "/v1/retention", VIEWER),
    route("POST", "/v1/retention", ADMIN),
    route("GET", "/v1/retention/{id}", VIEWER),
    route("PUT", "/v1/retention/{id}", ADMIN),
    route("DELETE", "/v1/retention/{id}", ADMIN),
    route("GET", "/v1/recurring", VIEWER),
    route("POST", "/v1/recurring", ADMIN),
    route("GET", "/v1/recurring/{id}", VIEWER),
    route("PUT", "/v1/recurring/{id}", ADMIN),
    route("DELETE", "/v1/recurring/{id}", ADMIN),
    route("POST", "/v1/recurring/{id}/pause", ADMIN),
    route("POST", "/v1/recurring/{id}/resume", ADMIN),
];

/// The policy of a matched route, if it has one.
pub fn lookup(method: &str, path: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .map(|r| r.access)
}

/// The table as README's Markdown (a test keeps README in step with it).
pub fn markdown_table() -> String {
    let mut out = String::from("| method | route | who may call it |\n|---|---|---|\n");
    for r in ROUTES {
        out.push_str(&format!(
            "| {} | `{}` | {} |\n",
            r.method,
            r.path,
            r.access.describe()
        ));
    }
    out
}
