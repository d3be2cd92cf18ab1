//! What authentication and authorization add to one request: find the
//! caller from its credential (a key of the auth file, a stored key already
//! in the process cache, a login JWT), check the route's role, and check the
//! action against the caller's grants. Target: ≤ 2 µs per request.

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use switchyard_auth::{
    AuthFile, Authenticator, Credential, Grant, NewKey, Principal, Resource, Role, hash_key,
};
use switchyard_core::{Clock, SystemClock};
use switchyard_store::MemoryStateStore;

/// An auth file with 100 keys (one tenant each) and one user.
fn auth_file() -> (AuthFile, String) {
    let mut text =
        String::from("[settings]\njwt_secret = \"bench-only-jwt-secret-of-sufficient-length\"\n\n");
    let mut raw = String::new();
    for n in 0..100 {
        let key = format!("bench-key-{n}");
        text.push_str(&format!(
            "[[api_keys]]\nname = \"k{n}\"\nkey_hash = \"{}\"\nrole = \"operator\"\ngrants = [{{ tenants = [\"tenant-{n}\"], namespaces = [\"shop\"], actions = [\"*\"] }}]\n\n",
            hash_key(&key)
        ));
        if n == 42 {
            raw = key;
        }
    }
    (AuthFile::parse("bench", &text).expect("auth file"), raw)
}

/// What the middleware and a dispatch handler do per request.
async fn admit(auth: &Authenticator, credential: &Credential, tenant: &str) -> Arc<Principal> {
    let principal = auth.authenticate(credential).await.expect("known caller");
    principal
        .require_role(Role::Operator, "POST /v1/dispatch")
        .expect("role");
    principal
        .authorize(&Resource::action("shop", tenant, "email", "send"))
        .expect("granted");
    principal
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = Arc::new(MemoryStateStore::new(clock.clone()));
    let (file, file_key) = auth_file();
    let jwt =
        switchyard_auth::jwt::JwtKeys::new("bench-only-jwt-secret-of-sufficient-length", 3600);
    let auth = Authenticator::new(Some(file), state, clock.clone(), Duration::from_secs(5));
    let creator = Principal::anonymous();
    let (_, stored_key) = rt
        .block_on(auth.create_key(
            &creator,
            NewKey {
                name: "stored".into(),
                role: Role::Operator,
                grants: vec![Grant {
                    tenants: vec!["tenant-42".into()],
                    namespaces: vec!["shop".into()],
                    providers: vec!["*".into()],
                    actions: vec!["*".into()],
                    agent_id: None,
                }],
                description: None,
                expires_at: None,
            },
        ))
        .expect("stored key");
    let token = jwt
        .issue(
            "bench-user",
            Role::Operator,
            &[Grant::everything()],
            clock.now(),
        )
        .expect("token");

    let mut group = c.benchmark_group("auth_per_request");
    let file_credential = Credential::Bearer(file_key);
    group.bench_function("file_key", |b| {
        b.to_async(&rt)
            .iter(|| admit(&auth, &file_credential, "tenant-42"))
    });
    let stored_credential = Credential::Bearer(stored_key);
    group.bench_function("stored_key_cached", |b| {
        b.to_async(&rt)
            .iter(|| admit(&auth, &stored_credential, "tenant-42"))
    });
    group.finish();
    // JWTs are verified by the same secret the file names.
    let file = auth_file().0;
    let jwt_auth = Authenticator::new(
        Some(file),
        Arc::new(MemoryStateStore::new(clock.clone())),
        clock,
        Duration::from_secs(5),
    );
    let jwt_credential = Credential::Bearer(token);
    c.bench_function("auth_per_request/jwt", |b| {
        b.to_async(&rt)
            .iter(|| admit(&jwt_auth, &jwt_credential, "tenant-7"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
