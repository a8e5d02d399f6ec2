//! Each connected agent's sockets, with the token generation they were opened in, so that ending
//! an agent's sessions closes their sockets: at once when this server ends them (a REST call), and
//! within [`CHECK_INTERVAL`] when another process did (`kefu agent reset-password` while the
//! server runs): the generations of connected agents are read back that often.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, Weak};
use std::time::Duration;

use chat_core::ids::{AgentId, ConnId};
use tokio_util::sync::CancellationToken;

use super::Hub;

/// How often the connected agents' accounts are read back for sessions ended elsewhere.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// One agent socket: its connection, the generation of the token it was opened with, and what
/// closes it.
#[derive(Debug)]
struct AgentSocket {
    conn: ConnId,
    generation: u64,
    revoked: CancellationToken,
}

/// The sockets of every connected agent.
#[derive(Debug, Default)]
pub(crate) struct AgentSessions {
    sockets: Mutex<HashMap<AgentId, Vec<AgentSocket>>>,
}

impl AgentSessions {
    /// Registers a socket opened with a token of `generation`; the token it returns is
    /// cancelled when the agent's sessions end.
    pub(crate) fn connected(&self, agent: &AgentId, conn: ConnId, generation: u64) -> CancellationToken {
        let revoked = CancellationToken::new();
        let mut sockets = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        sockets.entry(agent.clone()).or_default().push(AgentSocket {
            conn,
            generation,
            revoked: revoked.clone(),
        });
        revoked
    }

    pub(crate) fn disconnected(&self, agent: &AgentId, conn: ConnId) {
        let mut sockets = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = sockets.get_mut(agent) {
            open.retain(|socket| socket.conn != conn);
            if open.is_empty() {
                sockets.remove(agent);
            }
        }
    }

    /// Closes every socket of the agent.
    pub(crate) fn revoke(&self, agent: &AgentId) {
        let sockets = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        for socket in sockets.get(agent).into_iter().flatten() {
            socket.revoked.cancel();
        }
    }

    /// Closes the sockets whose agent is gone, disabled, or in a newer token generation.
    /// `states` are the agents' (id, generation, disabled) as stored; `asked` who was asked for.
    fn settle(&self, asked: &[AgentId], states: &[(AgentId, u64, bool)]) {
        let sockets = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        for agent in asked {
            let state = states.iter().find(|(id, _, _)| id == agent);
            for socket in sockets.get(agent).into_iter().flatten() {
                let ended = state
                    .is_none_or(|(_, generation, disabled)| *disabled || *generation != socket.generation);
                if ended {
                    socket.revoked.cancel();
                }
            }
        }
    }

    fn connected_agents(&self) -> Vec<AgentId> {
        self.sockets.lock().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect()
    }
}

/// Reads the connected agents' accounts back every [`CHECK_INTERVAL`] until the hub stops.
pub(crate) async fn watch(hub: Weak<Hub>) {
    loop {
        tokio::time::sleep(CHECK_INTERVAL).await;
        let Some(hub) = hub.upgrade() else { return };
        if hub.is_shutting_down() {
            return;
        }
        let agents = hub.agent_sessions.connected_agents();
        if agents.is_empty() {
            continue;
        }
        match hub.store().session_states_any_tenant(&agents).await {
            Ok(states) => hub.agent_sessions.settle(&agents, &states),
            // The database is away: the sockets stay until it can say.
            Err(error) => tracing::debug!(%error, "agent sessions could not be checked"),
        }
    }
}
