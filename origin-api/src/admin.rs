//! The admin CLI for the person running the server: tenants, sites, agents, passwords. It works on
//! the same database while the server runs (SQLite waits for the server's writes to finish).

use std::io::BufRead;

use anyhow::{Context, bail};
use chat_core::ids::{SiteId, TenantId};
use chat_core::protocol::Role;

use crate::auth::password;
use crate::clock::now;
use crate::store::{Agent, NewAgent, NewSite, Store};
use crate::validate;

/// `kefu tenant …`
#[derive(Debug, clap::Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print its id.
    Create {
        /// The organisation's name.
        #[arg(long)]
        name: String,
    },
    /// List tenants.
    List,
}

/// `kefu site …`
#[derive(Debug, clap::Subcommand)]
pub enum SiteCommand {
    /// Create a site and print its id and public key.
    Create {
        /// The tenant's id.
        #[arg(long)]
        tenant: TenantId,
        /// The site's name.
        #[arg(long)]
        name: String,
        /// An origin allowed to embed the chat (https://shop.example); repeat for several.
        #[arg(long = "origin")]
        origins: Vec<String>,
        /// Shown to visitors before their first message.
        #[arg(long, default_value = "Hi! How can we help you today?")]
        greeting: String,
        /// Agents accept new conversations themselves instead of round-robin assignment.
        #[arg(long)]
        manual_assign: bool,
    },
    /// List a tenant's sites.
    List {
        /// The tenant's id.
        #[arg(long)]
        tenant: TenantId,
    },
    /// Move a site's room to another node of the cluster: its node stores what the room holds
    /// and hands it over; visitors and agents reconnect there and resume.
    Move {
        /// The site's id.
        #[arg(long)]
        site: SiteId,
        /// The node's name (`kefu node list`).
        #[arg(long)]
        to: String,
    },
}

/// `kefu node …`: the nodes of a cluster.
#[derive(Debug, clap::Subcommand)]
pub enum NodeCommand {
    /// The nodes, whether they are alive, and the sites each hosts.
    List,
    /// Move every site of a node to the others and give it no new ones (before an upgrade, or
    /// to shrink the cluster); waits until it hosts none.
    Drain {
        /// The node's name.
        node: String,
    },
    /// Let a drained node take sites again.
    Undrain {
        /// The node's name.
        node: String,
    },
}

/// How long `kefu site move` and `kefu node drain` wait for the rooms to move.
const MOVE_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs a node command.
pub async fn node(store: &dyn Store, command: NodeCommand) -> anyhow::Result<()> {
    match command {
        NodeCommand::List => {
            let at = now();
            let leases = store.leases().await?;
            for node in store.nodes().await? {
                let sites = leases.iter().filter(|lease| lease.held_by(&node.name, at)).count();
                let heard = at.since(node.heartbeat_at) / 1000;
                let state = if node.draining { "draining" } else { "serving" };
                println!("{}	{}	{state}	heard from {heard} s ago	{sites} sites", node.name, node.url);
            }
        }
        NodeCommand::Drain { node } => {
            anyhow::ensure!(
                store.set_draining(&node, true).await?,
                "there is no node {node:?} (kefu node list)"
            );
            println!("draining {node}: its sites move to the other nodes");
            let deadline = std::time::Instant::now() + MOVE_WAIT;
            loop {
                let at = now();
                let left = store.leases().await?.iter().filter(|lease| lease.held_by(&node, at)).count();
                if left == 0 {
                    println!("{node} hosts no sites now");
                    break;
                }
                anyhow::ensure!(
                    std::time::Instant::now() < deadline,
                    "{node} still hosts {left} sites after {} s; is another node alive?",
                    MOVE_WAIT.as_secs()
                );
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        NodeCommand::Undrain { node } => {
            anyhow::ensure!(
                store.set_draining(&node, false).await?,
                "there is no node {node:?} (kefu node list)"
            );
            println!("{node} takes sites again");
        }
    }
    Ok(())
}

/// `kefu agent …`
#[derive(Debug, clap::Subcommand)]
pub enum AgentCommand {
    /// Create an agent; the password is read from standard input (one line).
    Create {
        /// The tenant's id.
        #[arg(long)]
        tenant: TenantId,
        /// Their login.
        #[arg(long)]
        email: String,
        /// Their display name.
        #[arg(long)]
        name: String,
        /// owner, admin or agent.
        #[arg(long, default_value = "agent", value_parser = parse_role)]
        role: Role,
        /// Open conversations round-robin gives them at most.
        #[arg(long, default_value_t = validate::DEFAULT_CAPACITY)]
        capacity: u32,
        /// A site they serve; repeat for several; none means every site, including later ones.
        #[arg(long = "site")]
        sites: Vec<SiteId>,
    },
    /// Set a new password, read from standard input (one line); ends the agent's sessions.
    ResetPassword {
        /// Their login.
        #[arg(long)]
        email: String,
        /// Their tenant, when the email has an account in several.
        #[arg(long)]
        tenant: Option<TenantId>,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("{text:?} is not a role: owner, admin or agent"))
}

/// Runs a tenant command.
pub async fn tenant(store: &dyn Store, command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create { name } => {
            validate::length("name", &name, 1, 100).map_err(anyhow::Error::msg)?;
            let tenant = store.create_tenant(name.trim(), now()).await?;
            println!("created tenant {} ({})", tenant.id, tenant.name);
        }
        TenantCommand::List => {
            for tenant in store.list_tenants().await? {
                println!("{}\t{}", tenant.id, tenant.name);
            }
        }
    }
    Ok(())
}

/// Runs a site command.
pub async fn site(store: &dyn Store, command: SiteCommand) -> anyhow::Result<()> {
    match command {
        SiteCommand::Create { tenant, name, origins, greeting, manual_assign } => {
            existing_tenant(store, &tenant).await?;
            validate::length("name", &name, 1, 100).map_err(anyhow::Error::msg)?;
            validate::origins(&origins).map_err(anyhow::Error::msg)?;
            let site = NewSite {
                name,
                allowed_origins: origins,
                greeting,
                auto_assign: !manual_assign,
                ..NewSite::default()
            };
            let site = store.create_site(&tenant, site, now()).await?;
            println!("created site {} ({}) with the public key {}", site.id, site.name, site.key);
        }
        SiteCommand::List { tenant } => {
            existing_tenant(store, &tenant).await?;
            for site in store.list_sites(&tenant).await? {
                println!("{}\t{}\t{}", site.id, site.key, site.name);
            }
        }
        SiteCommand::Move { site, to } => move_site(store, &site, &to).await?,
    }
    Ok(())
}

async fn move_site(store: &dyn Store, site: &SiteId, to: &str) -> anyhow::Result<()> {
    store.site_any_tenant(site).await?.ok_or_else(|| anyhow::anyhow!("there is no site {site}"))?;
    let at = now();
    let node = store.nodes().await?.into_iter().find(|node| node.name == to);
    let node = node.ok_or_else(|| anyhow::anyhow!("there is no node {to:?} (kefu node list)"))?;
    anyhow::ensure!(!node.draining, "{to} is draining");
    if store.lease(site).await?.is_some_and(|lease| lease.held_by(to, at)) {
        println!("{site} is on {to} already");
        return Ok(());
    }
    if !store.request_move(site, to, at).await? {
        // Nobody hosts it: the next socket starts it where the router sends it.
        println!("{site} is not running on any node; it starts where its next visitor is sent");
        return Ok(());
    }
    let deadline = std::time::Instant::now() + MOVE_WAIT;
    loop {
        if store.lease(site).await?.is_some_and(|lease| lease.held_by(to, now())) {
            println!("moved {site} to {to}");
            return Ok(());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "{site} did not move within {} s",
            MOVE_WAIT.as_secs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Runs an agent command; passwords come from `input`.
pub async fn agent(store: &dyn Store, command: AgentCommand, input: impl BufRead) -> anyhow::Result<()> {
    match command {
        AgentCommand::Create { tenant, email, name, role, capacity, sites } => {
            existing_tenant(store, &tenant).await?;
            validate::email(&email).map_err(anyhow::Error::msg)?;
            validate::length("name", &name, 1, 100).map_err(anyhow::Error::msg)?;
            let capacity = validate::capacity(capacity).map_err(anyhow::Error::msg)?;
            let password_hash = password::hash(&read_password(input)?)?;
            let agent = NewAgent {
                email: email.trim().to_owned(),
                name,
                role,
                capacity,
                all_sites: sites.is_empty(),
                sites,
                password_hash,
            };
            let agent = store.create_agent(&tenant, agent, now()).await?;
            println!("created {} {} <{}> ({})", agent.role.as_str(), agent.id, agent.email, agent.name);
        }
        AgentCommand::ResetPassword { email, tenant } => {
            let mut found: Vec<Agent> = store
                .agents_by_email(email.trim())
                .await?
                .into_iter()
                .map(|(agent, _)| agent)
                .filter(|agent| tenant.as_ref().is_none_or(|tenant| *tenant == agent.tenant))
                .collect();
            if found.len() > 1 {
                let tenants: Vec<&str> = found.iter().map(|agent| agent.tenant.as_str()).collect();
                bail!(
                    "agents of several tenants have the email {email:?}: name one with --tenant ({})",
                    tenants.join(", ")
                );
            }
            let Some(agent) = found.pop() else {
                bail!("no agent has the email {email:?}");
            };
            let hash = password::hash(&read_password(input)?)?;
            store.set_password(&agent.tenant, &agent.id, &hash).await?;
            println!("the password of {} was changed; their sessions have ended", agent.email);
        }
    }
    Ok(())
}

async fn existing_tenant(store: &dyn Store, tenant: &TenantId) -> anyhow::Result<()> {
    if store.tenant(tenant).await?.is_none() {
        bail!("there is no tenant {tenant} (see `kefu tenant list`)");
    }
    Ok(())
}

fn read_password(mut input: impl BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    input.read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!(
            "give the password on standard input, for example: printf '%s\\n' 'a long password' | kefu agent …"
        );
    }
    Ok(password)
}
