//! Identities for authorization tests: an auth file written at run time with
//! fresh random keys (nothing secret is committed), and requests that carry
//! a key the way Acteon's clients do (`Authorization: Bearer`).

use std::path::PathBuf;

use serde_json::{Value, json};
use switchyard_auth::{Role, hash_key};
use switchyard_config::Config;

use crate::{TestServer, at, start};

pub const NAMESPACE: &str = "ecommerce";
pub const TENANT: &str = "acme-store";
pub const OTHER_TENANT: &str = "globex";
pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct horse battery staple";

/// One caller of the matrix.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: &'static str,
    /// `None`: no credentials at all.
    pub key: Option<String>,
    pub role: Role,
    /// Its grants cover every tenant.
    pub unrestricted: bool,
    /// Its grants cover only the other tenant.
    pub other_tenant: bool,
}

pub struct Keys {
    pub viewer: String,
    pub operator: String,
    pub admin: String,
    pub other: String,
    /// An operator of the tenant that only dispatches (approvals' requester).
    pub dispatcher: String,
    pub auth_file: PathBuf,
}

impl Keys {
    /// The matrix's callers, least privileged first.
    pub fn identities(&self) -> Vec<Identity> {
        let id = |name, key: &String, role, unrestricted, other_tenant| Identity {
            name,
            key: Some(key.clone()),
            role,
            unrestricted,
            other_tenant,
        };
        vec![
            Identity {
                name: "no key",
                key: None,
                role: Role::Viewer,
                unrestricted: false,
                other_tenant: false,
            },
            id("viewer", &self.viewer, Role::Viewer, false, false),
            id("other tenant", &self.other, Role::Operator, false, true),
            id("operator", &self.operator, Role::Operator, false, false),
            id("admin", &self.admin, Role::Admin, true, false),
        ]
    }
}

fn raw_key(name: &str) -> String {
    format!("test-{name}-{}", uuid::Uuid::new_v4().simple())
}

/// Write an Acteon-layout auth file with fresh keys into a temp folder.
pub fn write_auth_file() -> Keys {
    use argon2::PasswordHasher;
    let keys = Keys {
        viewer: raw_key("viewer"),
        operator: raw_key("operator"),
        admin: raw_key("admin"),
        other: raw_key("other"),
        dispatcher: raw_key("dispatcher"),
        auth_file: std::env::temp_dir().join(format!(
            "switchyard-auth-{}.toml",
            uuid::Uuid::new_v4().simple()
        )),
    };
    let salt = argon2::password_hash::SaltString::encode_b64(b"fixed-test-salt!").expect("salt");
    let password_hash = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes(), &salt)
        .expect("hash")
        .to_string();
    let jwt_secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let tenant_grant = |tenant: &str| {
        format!(
            "[{{ tenants = [\"{tenant}\"], namespaces = [\"{NAMESPACE}\"], actions = [\"*\"] }}]"
        )
    };
    let key = |name: &str, raw: &str, role: &str, grants: String| {
        format!(
            "[[api_keys]]\nname = \"{name}\"\nkey_hash = \"{}\"\nrole = \"{role}\"\ngrants = {grants}\n\n",
            hash_key(raw)
        )
    };
    let everything =
        "[{ tenants = [\"*\"], namespaces = [\"*\"], providers = [\"*\"], actions = [\"*\"] }]"
            .to_string();
    let mut text = format!(
        "[settings]\njwt_secret = \"{jwt_secret}\"\njwt_expiry_seconds = 600\n\n\
         [[users]]\nusername = \"{USER}\"\npassword_hash = \"{password_hash}\"\nrole = \"operator\"\ngrants = {}\n\n",
        tenant_grant(TENANT)
    );
    text.push_str(&key("viewer", &keys.viewer, "viewer", tenant_grant(TENANT)));
    text.push_str(&key(
        "operator",
        &keys.operator,
        "operator",
        tenant_grant(TENANT),
    ));
    text.push_str(&key("admin", &keys.admin, "admin", everything));
    text.push_str(&key(
        "other",
        &keys.other,
        "operator",
        tenant_grant(OTHER_TENANT),
    ));
    text.push_str(&key(
        "dispatcher",
        &keys.dispatcher,
        "operator",
        tenant_grant(TENANT),
    ));
    std::fs::write(&keys.auth_file, text).expect("auth file");
    keys
}

/// The e-commerce example with `[auth]` on and the keys above.
pub fn auth_config(keys: &Keys) -> Config {
    let mut config = crate::ecommerce_config();
    config.auth.enabled = true;
    config.auth.config_path = Some(keys.auth_file.clone());
    config
}

impl TestServer {
    /// A request with an optional key as `Authorization: Bearer`.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, self.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        if status == 204 {
            return (status, Value::Null);
        }
        let is_stream = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if is_stream {
            return (status, Value::Null);
        }
        crate::read(response).await
    }
}

/// 17:00 UTC on a Monday: business hours in US/Eastern (orders execute).
pub const NOW: &str = "2026-01-05T17:00:00Z";

pub async fn auth_server() -> (TestServer, Keys) {
    let keys = write_auth_file();
    let server = start(auth_config(&keys), at(NOW)).await;
    (server, keys)
}

pub fn order(tenant: &str, id: &str, cents: u64) -> Value {
    json!({"namespace": NAMESPACE, "tenant": tenant, "provider": "payment-gateway",
           "action_type": "place_order", "id": id,
           "payload": {"order_id": id, "total_cents": cents, "currency": "USD",
                       "shipping_country": "US", "customer_email": "c@example.com"}})
}

/// Dispatch a small order for `tenant` with `key`; it must be accepted.
pub async fn dispatch_ok(s: &TestServer, key: &str, tenant: &str, id: &str) -> Value {
    let (status, body) = s
        .call(
            "POST",
            "/v1/dispatch",
            Some(key),
            Some(&order(tenant, id, 1500)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `path` narrowed to the test tenant (`namespace=…&tenant=…`).
pub fn scoped(path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}namespace={NAMESPACE}&tenant={TENANT}")
}
