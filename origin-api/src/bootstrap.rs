//! The first start: on an empty database, a demo tenant with one site and an owner whose random
//! password is printed once, so a new installation can be tried at once and has no default password.

use chat_core::protocol::Role;

use crate::auth::{hashing, password};
use crate::clock::now;
use crate::store::{NewAgent, NewSite, Site, Store};
use crate::validate::DEFAULT_CAPACITY;
use crate::web::DEMO_SITE_KEY;

/// What the first start created.
#[derive(Debug)]
pub struct Demo {
    /// The site.
    pub site: Site,
    /// The owner's login.
    pub email: String,
    /// The owner's password, shown once.
    pub password: String,
}

/// The demo owner's email.
pub const DEMO_EMAIL: &str = "owner@example.com";

/// Creates the demo tenant if the database has no tenant.
pub async fn demo_if_empty(store: &dyn Store) -> anyhow::Result<Option<Demo>> {
    if !store.list_tenants().await?.is_empty() {
        return Ok(None);
    }
    let now = now();
    let tenant = store.create_tenant("Demo", now).await?;
    let site = NewSite {
        name: "Demo site".into(),
        allowed_origins: Vec::new(),
        greeting: "Hi! How can we help you today?".into(),
        auto_assign: true,
        ..NewSite::default()
    };
    let site = store.create_site(&tenant.id, site, now).await?;
    // `/demo` embeds this site.
    store.init_server_key(DEMO_SITE_KEY, site.key.as_bytes(), now).await?;
    let password = random_password()?;
    let owner = NewAgent {
        email: DEMO_EMAIL.into(),
        name: "Owner".into(),
        role: Role::Owner,
        capacity: DEFAULT_CAPACITY,
        all_sites: true,
        sites: Vec::new(),
        password_hash: hashing::run({
            let password = password.clone();
            move |memory| password::hash_in(memory, &password)
        })
        .await??,
    };
    store.create_agent(&tenant.id, owner, now).await?;
    Ok(Some(Demo { site, email: DEMO_EMAIL.into(), password }))
}

/// 20 characters from an alphabet without look-alikes (no 0/O, 1/l/I).
fn random_password() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect())
}
