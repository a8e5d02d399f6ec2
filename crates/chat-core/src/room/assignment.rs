//! Who has which conversation: the waiting queue, each agent's load, round-robin, and handing
//! conversations over. Every change of a conversation's status or agent goes through
//! [`SiteRoom::set_state`], which keeps the queue and the loads right, so nothing here counts.

use super::SiteRoom;
use super::state::Conversation;
use crate::ids::{AgentId, ConversationId, Millis};
use crate::protocol::{AgentStatus, ConversationEvent, ConversationStatus};

impl SiteRoom {
    /// Gives waiting conversations, oldest first, to online agents with room, round-robin.
    pub(super) fn assign_waiting(&mut self, now: Millis) {
        if !self.info.auto_assign {
            return;
        }
        while let Some((_, conversation)) = self.waiting.first().cloned() {
            let Some(agent) = self.next_agent() else { break };
            self.last_assigned = Some(agent.clone());
            let name = self.agent_name(&agent);
            self.give_to(
                &conversation,
                &agent,
                ConversationEvent::Assigned { agent: agent.clone(), name },
                now,
            );
        }
    }

    /// The online agent after the last one assigned (in id order, wrapping) who is under capacity.
    fn next_agent(&self) -> Option<AgentId> {
        let last = self.last_assigned.as_ref();
        let after = self.agents.iter().filter(|(id, _)| last.is_some_and(|last| *id > last));
        let up_to = self.agents.iter().filter(|(id, _)| last.is_none_or(|last| *id <= last));
        after
            .chain(up_to)
            .find(|(id, agent)| agent.status == AgentStatus::Online && self.load(id) < agent.capacity)
            .map(|(id, _)| id.clone())
    }

    /// Open conversations the agent has in this site.
    pub(super) fn load(&self, agent: &AgentId) -> u32 {
        self.open_load.get(agent).copied().unwrap_or(0)
    }

    /// Makes `agent` the conversation's agent and records why.
    pub(super) fn give_to(
        &mut self,
        conversation: &ConversationId,
        agent: &AgentId,
        event: ConversationEvent,
        now: Millis,
    ) {
        self.set_state(conversation, ConversationStatus::Open, Some(agent.clone()));
        let name = self.agent_name(agent);
        let body = match &event {
            ConversationEvent::Transferred { .. } => format!("The conversation was transferred to {name}"),
            ConversationEvent::Invited { .. } => format!("{name} started the conversation"),
            _ => format!("{name} joined the conversation"),
        };
        // The event first: the conversation's new state, shown next, counts it in `last_seq`.
        self.system_event(conversation, event, body, now);
        self.changed(conversation);
        self.announce_agent(agent);
    }

    /// The agent left and did not come back: their open conversations wait for someone else.
    pub(super) fn requeue(&mut self, agent: &AgentId, now: Millis) {
        let theirs: Vec<_> = self
            .conversations
            .values()
            .filter(|c| c.record.status == ConversationStatus::Open && c.record.agent.as_ref() == Some(agent))
            .map(|c| c.id().clone())
            .collect();
        let name = self.agent_name(agent);
        for conversation in theirs {
            self.set_state(&conversation, ConversationStatus::Waiting, None);
            self.changed(&conversation);
            let body = format!("{name} left; waiting for another agent");
            self.system_event(&conversation, ConversationEvent::Requeued { agent: agent.clone() }, body, now);
        }
    }

    /// Adds a conversation, counting it as waiting or as its agent's load.
    pub(super) fn insert_conversation(&mut self, conversation: Conversation) {
        let id = conversation.id().clone();
        let (status, agent) = (conversation.record.status, conversation.record.agent.clone());
        self.conversations.insert(id.clone(), conversation);
        self.count(&id, status, agent.as_ref(), true);
    }

    /// Moves a conversation to `status` with `agent`, keeping the waiting queue and the agents'
    /// loads right. Every change of status or agent goes through here.
    pub(super) fn set_state(
        &mut self,
        id: &ConversationId,
        status: ConversationStatus,
        agent: Option<AgentId>,
    ) {
        let Some(conv) = self.conversations.get(id) else { return };
        let (old_status, old_agent) = (conv.record.status, conv.record.agent.clone());
        self.count(id, old_status, old_agent.as_ref(), false);
        if let Some(conv) = self.conversations.get_mut(id) {
            conv.record.status = status;
            conv.record.agent = agent.clone();
        }
        self.count(id, status, agent.as_ref(), true);
    }

    fn count(&mut self, id: &ConversationId, status: ConversationStatus, agent: Option<&AgentId>, add: bool) {
        let Some(started_at) = self.conversations.get(id).map(|c| c.record.started_at) else { return };
        match (status, agent) {
            (ConversationStatus::Waiting, _) => {
                if add {
                    self.waiting.insert((started_at, id.clone()));
                } else {
                    self.waiting.remove(&(started_at, id.clone()));
                }
            }
            (ConversationStatus::Open, Some(agent)) => {
                let load = self.open_load.entry(agent.clone()).or_default();
                *load = if add { *load + 1 } else { load.saturating_sub(1) };
            }
            _ => {}
        }
    }
}
