//! What agents learn about a visitor beyond their page (device, pages seen, the identity the site
//! vouches for), and files sent with messages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use chat_core::identity::{self, IdentitySecret};
use chat_core::protocol::{
    AttachmentView, ErrorCode, IdentityView, ServerFrame, VisitorFrame, VisitorIdentity,
};
use sim::{Sim, acks, agent, agent_send, conversation_of, errors, messages, page, send, site};

fn identity(id: &str, hash: &str) -> VisitorIdentity {
    VisitorIdentity {
        id: id.into(),
        name: "Ana Lima".into(),
        email: "ana@shop.example".into(),
        hash: hash.into(),
    }
}

fn proof(id: &str) -> String {
    identity::proof(&IdentitySecret("site secret".into()), id)
}

fn identified(frames: &[ServerFrame]) -> Vec<IdentityView> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::VisitorIdentified { identity, .. } => Some(identity.clone()),
            _ => None,
        })
        .collect()
}

fn photo() -> AttachmentView {
    AttachmentView {
        id: "f_1".into(),
        name: "broken lamp.jpg".into(),
        size: 48_213,
        content_type: "image/jpeg".into(),
        width: Some(640),
        height: Some(480),
    }
}

#[test]
fn agents_see_the_device_the_pages_seen_and_a_verified_identity_from_the_hello() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 3), vec![]);
    sim.take(a1);
    let v1 =
        sim.visitor_joins_as("v1", "https://shop.example/", vec![], Some(identity("u-42", &proof("u-42"))));
    let arrived = sim.take(a1);
    let ServerFrame::VisitorArrived { visitor, .. } = &arrived[0] else { panic!("{arrived:?}") };
    assert_eq!(visitor.device.language, "zh-CN");
    assert_eq!(visitor.device.screen, "390x844");
    assert_eq!(visitor.pages, 1);
    let shown = visitor.identity.clone().expect("the identity");
    assert!(shown.verified);
    assert_eq!((shown.id.as_str(), shown.name.as_str()), ("u-42", "Ana Lima"));

    sim.visitor(v1, VisitorFrame::Page { page: page("https://shop.example/cart") });
    sim.take(a1);
    let a2 = sim.agent_joins(agent("a2", 3), vec![]);
    let state = sim.take(a2);
    let ServerFrame::SiteState { visitors, .. } = &state[0] else { panic!("{state:?}") };
    assert_eq!(visitors[0].pages, 2, "a page change counts");
}

#[test]
fn a_forged_hash_shows_the_identity_as_unverified_and_a_later_identify_is_announced_once() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 3), vec![]);
    let v1 =
        sim.visitor_joins_as("v1", "https://shop.example/", vec![], Some(identity("u-42", &proof("u-1"))));
    let arrived = sim.take(a1);
    let Some(ServerFrame::VisitorArrived { visitor, .. }) = arrived.last() else { panic!("{arrived:?}") };
    assert!(!visitor.identity.as_ref().unwrap().verified, "a hash of another id proves nothing");

    // The visitor logs in on a single-page site: the page identifies them properly.
    sim.visitor(v1, VisitorFrame::Identify(identity("u-7", &proof("u-7"))));
    sim.visitor(v1, VisitorFrame::Identify(identity("u-7", &proof("u-7"))));
    let seen = identified(&sim.take(a1));
    assert_eq!(seen.len(), 1, "the same identity again is nothing new");
    assert!(seen[0].verified && seen[0].id == "u-7");

    // Someone types an identity into the console: shown, but as unverified.
    sim.visitor(v1, VisitorFrame::Identify(identity("u-1", "00ff")));
    let seen = identified(&sim.take(a1));
    assert!(!seen[0].verified);

    sim.visitor(v1, VisitorFrame::Identify(identity("", "")));
    assert_eq!(errors(&sim.take(v1)), [ErrorCode::BadFrame]);
    assert!(identified(&sim.take(a1)).is_empty());
}

#[test]
fn a_file_travels_with_its_message_and_a_send_needs_text_or_a_file() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 3), vec![]);
    let v1 = sim.visitor_joins("v1", "https://shop.example/", vec![]);
    sim.take(a1);
    sim.take(v1);

    sim.visitor(v1, send("empty", " "));
    assert_eq!(errors(&sim.take(v1)), [ErrorCode::BadFrame]);

    let frame =
        VisitorFrame::Send { cid: "photo".into(), body: String::new(), attachment: Some("token".into()) };
    sim.visitor_attaching(v1, frame, Some(photo()));
    sim.commit_all();
    let to_visitor = sim.take(v1);
    assert_eq!(acks(&to_visitor), [("photo".to_owned(), 1)]);
    let conversation = conversation_of(&to_visitor);
    let to_agent = sim.take(a1);
    let delivered = messages(&to_agent);
    assert_eq!(delivered[0].attachment, Some(photo()));
    assert_eq!(delivered[0].body, "");

    let mut reply = agent_send(&conversation, "r1", "Thanks, here is the manual", false);
    if let chat_core::protocol::AgentFrame::Send { attachment, .. } = &mut reply {
        *attachment = Some("token".into());
    }
    let manual = AttachmentView {
        id: "f_2".into(),
        name: "manual.pdf".into(),
        size: 1_000,
        content_type: "application/pdf".into(),
        width: None,
        height: None,
    };
    sim.agent_attaching(a1, reply, Some(manual.clone()));
    sim.commit_all();
    let got = sim.take(v1);
    let received = messages(&got);
    assert_eq!(received.last().unwrap().attachment, Some(manual));
    let stored = &sim.store.messages[&conversation];
    assert_eq!(stored[0].attachment, Some(photo()), "the store keeps the file with its message");
}
