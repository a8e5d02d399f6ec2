//! The tokio task that hosts one site's `SiteRoom`: it feeds the room its inbox and the time, and
//! carries out the effects — frames onto socket queues, writes to the writer, replays and closes
//! as queue items. It holds no chat logic of its own.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use chat_core::ids::{ConnId, Millis, SiteId};
use chat_core::protocol::ServerFrame;
use chat_core::room::{Effect, Input, SiteRoom};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::cluster::Leaving;
use super::hub::Hub;
use super::writer::{WriteItem, Writer};
use super::{ConnLink, Outgoing, Replay};
use crate::clock::now;

/// At most this many inbox messages are handled before effects are flushed and timers checked.
const INBOX_BATCH: usize = 256;

/// What a room task receives.
#[derive(Debug)]
pub(crate) enum RoomMsg {
    /// A socket joins: its queue, then its join input.
    Attach { conn: ConnId, link: ConnLink, join: Input },
    /// Anything else for the room.
    Input(Input),
    /// The room leaves this node (cluster): its lease is gone, or it moves.
    Leave(Leaving),
}

pub(crate) struct RoomTask {
    site: SiteId,
    room: SiteRoom,
    links: HashMap<ConnId, ConnLink>,
    writer: Writer,
    inbox: mpsc::UnboundedSender<RoomMsg>,
    hub: Arc<Hub>,
    /// The fence of the site's lease, on a cluster: every write carries it.
    fence: Option<u64>,
    /// Set once the room leaves this node.
    leaving: Option<Leaving>,
}

impl RoomTask {
    pub(crate) fn new(
        room: SiteRoom,
        writer: Writer,
        inbox: mpsc::UnboundedSender<RoomMsg>,
        hub: Arc<Hub>,
        fence: Option<u64>,
    ) -> Self {
        let site = room.info().site.clone();
        RoomTask { site, room, links: HashMap::new(), writer, inbox, hub, fence, leaving: None }
    }

    pub(crate) async fn run(mut self, mut rx: mpsc::UnboundedReceiver<RoomMsg>) {
        let mut idle_since: Option<Instant> = None;
        let mut messages = Vec::with_capacity(INBOX_BATCH);
        loop {
            let tick_at = self.room.next_deadline().map(instant_of);
            let idle_stop = self.hub.room_idle();
            let stop_at =
                idle_since.map(|since| if self.hub.is_shutting_down() { since } else { since + idle_stop });
            tokio::select! {
                received = rx.recv_many(&mut messages, INBOX_BATCH) => {
                    if received == 0 {
                        break;
                    }
                    for message in messages.drain(..) {
                        self.on_message(message);
                    }
                }
                () = sleep_until(tick_at), if tick_at.is_some() => self.apply(Input::Tick),
                () = sleep_until(stop_at), if stop_at.is_some() => {
                    // Shutting down, the room ends once its writes are stored, whether or not
                    // every socket has gone yet: a socket stuck on a dead client must not hold
                    // messages back from the database.
                    if self.hub.is_shutting_down() || self.hub.retire(&self.site, &rx) {
                        break;
                    }
                }
                () = self.hub.shutting_down(), if !self.hub.is_shutting_down() => {}
            }
            match &self.leaving {
                Some(Leaving::Lost) => break,
                Some(Leaving::MoveTo(to)) if !self.room.has_pending_writes() => {
                    self.hand_over(to.clone()).await;
                    return;
                }
                _ => {}
            }
            let can_stop = if self.hub.is_shutting_down() {
                !self.room.has_pending_writes()
            } else {
                self.room.is_idle()
            };
            idle_since = if can_stop { idle_since.or(Some(Instant::now())) } else { None };
        }
        if self.leaving.is_some() {
            self.hub.leave(&self.site);
        } else if let (Some(fence), Some(cluster)) = (self.fence, self.hub.cluster()) {
            // Stopped idle, or with the server: the next socket may start it on any node.
            cluster.release(&self.site, fence).await;
        }
    }

    /// Everything the room held is stored: the lease goes to the node `to`, whose room loads it.
    async fn hand_over(&mut self, to: String) {
        if let (Some(fence), Some(cluster)) = (self.fence, self.hub.cluster()) {
            match cluster.hand_over(&self.site, fence, &to).await {
                Ok(true) => tracing::info!(site = %self.site, to = %to, "moved a room"),
                Ok(false) => tracing::warn!(site = %self.site, "a moving room had lost its lease already"),
                Err(error) => {
                    tracing::warn!(%error, site = %self.site, "a move could not hand the lease over")
                }
            }
        }
        self.hub.leave(&self.site);
    }

    /// Sends every socket away to reconnect (where the hub then sends them), and takes no more.
    fn send_away(&mut self, leaving: Leaving) {
        let after_ms = if leaving == Leaving::Lost { 500 } else { 0 };
        for (_, link) in self.links.drain() {
            send_on(&link, after_ms);
        }
        tracing::info!(site = %self.site, ?leaving, "a room leaves this node");
        self.leaving = Some(leaving);
    }

    fn on_message(&mut self, message: RoomMsg) {
        match message {
            RoomMsg::Attach { conn, link, join } => {
                if self.leaving.is_some() {
                    // It came as the room was leaving: the socket goes where the others went.
                    send_on(&link, 0);
                    return;
                }
                self.links.insert(conn, link);
                self.apply(join);
            }
            RoomMsg::Input(input) => {
                if let Input::Disconnected { conn } = &input {
                    self.links.remove(conn);
                }
                self.apply(input);
            }
            RoomMsg::Leave(leaving) => {
                if self.leaving.is_none() {
                    self.send_away(leaving);
                }
            }
        }
    }

    /// Runs one input and carries out its effects; sockets found too slow are dropped and their
    /// departure run through the room in turn.
    fn apply(&mut self, input: Input) {
        let mut inputs = vec![input];
        while let Some(input) = inputs.pop() {
            for effect in self.room.handle(input, now()) {
                for slow in self.carry_out(effect) {
                    if let Some(link) = self.links.remove(&slow) {
                        link.kill();
                        inputs.push(Input::Disconnected { conn: slow });
                    }
                }
            }
        }
    }

    /// Returns the sockets whose queues were full.
    fn carry_out(&mut self, effect: Effect) -> Vec<ConnId> {
        match effect {
            Effect::Send { to, frame } => {
                if let ServerFrame::Error { code, cid: Some(_), .. } = &frame {
                    self.hub.metrics().refused(*code);
                }
                let text = Utf8Bytes::from(frame.to_json());
                to.into_iter().filter(|conn| !self.push(*conn, Outgoing::Frame(text.clone()))).collect()
            }
            Effect::Write { id, op } => {
                let fence = self.fence.map(|fence| (self.site.clone(), fence));
                self.writer.submit(WriteItem { room: self.inbox.clone(), id, op, fence });
                Vec::new()
            }
            Effect::Replay { conn, conversation, after_seq, through_seq, include_notes } => {
                let replay = Replay { conversation, after_seq, through_seq, include_notes };
                if self.push(conn, Outgoing::Replay(Box::new(replay))) { Vec::new() } else { vec![conn] }
            }
            Effect::Close { conn, code, reason } => {
                if self.push(conn, Outgoing::Close(code, reason)) {
                    Vec::new()
                } else {
                    vec![conn]
                }
            }
        }
    }

    /// Queues an item for a socket; false if it is too far behind.
    fn push(&self, conn: ConnId, item: Outgoing) -> bool {
        self.links.get(&conn).is_none_or(|link| link.push(item))
    }
}

/// Tells a socket of a room leaving this node to reconnect after `after_ms`, and closes it.
fn send_on(link: &ConnLink, after_ms: u64) {
    link.push(Outgoing::Frame(Utf8Bytes::from(ServerFrame::Reconnect { after_ms, url: None }.to_json())));
    link.push(Outgoing::Close(chat_core::protocol::close::RESTARTING, "the site moved; reconnect".into()));
}

fn instant_of(deadline: Millis) -> Instant {
    Instant::now() + Duration::from_millis(deadline.since(now()))
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
