//! The browser code's types of protocol v1, generated from the Rust enums: this test fails when
//! `bindings/protocol.d.ts` differs from what the enums say. `KEFU_WRITE_TYPES=1` rewrites it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chat_core::ids::{AgentId, Cid, ConversationId, Millis, SiteId, TenantId, VisitorId};
use chat_core::protocol::*;
use ts_rs::TS;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bindings/protocol.d.ts");

fn declarations() -> String {
    let mut out = String::from(
        "// Protocol v1 frames, generated from crates/chat-core/src/protocol by `cargo test -p chat-core\n\
         // --features ts --test typescript` (KEFU_WRITE_TYPES=1 rewrites this file). Do not edit.\n\
         // Integers are JSON numbers: every one the protocol carries (times, seqs, sizes) stays below 2^53.\n\n",
    );
    let decls = [
        TenantId::decl(),
        SiteId::decl(),
        AgentId::decl(),
        VisitorId::decl(),
        ConversationId::decl(),
        Cid::decl(),
        Millis::decl(),
        PageInfo::decl(),
        DeviceInfo::decl(),
        VisitorIdentity::decl(),
        IdentityView::decl(),
        AttachmentView::decl(),
        WidgetPosition::decl(),
        WidgetView::decl(),
        ResumePoint::decl(),
        Role::decl(),
        AgentStatus::decl(),
        ConversationStatus::decl(),
        Party::decl(),
        MessageKind::decl(),
        Sender::decl(),
        ConversationEvent::decl(),
        MessageView::decl(),
        ConversationView::decl(),
        LiveVisitorView::decl(),
        AgentPresenceView::decl(),
        SiteSummary::decl(),
        VisitorHello::decl(),
        AgentHello::decl(),
        VisitorFrame::decl(),
        AgentFrame::decl(),
        ErrorCode::decl(),
        ServerFrame::decl(),
    ];
    for decl in decls {
        // `Seq` is a plain u64 alias and shows as bigint; JSON gives JS numbers.
        out.push_str("export ");
        out.push_str(&decl.replace("bigint", "number"));
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[test]
fn the_typescript_declarations_match_the_protocol() {
    let fresh = declarations();
    if std::env::var_os("KEFU_WRITE_TYPES").is_some() {
        std::fs::write(PATH, &fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(PATH).unwrap_or_default();
    assert!(
        committed == fresh,
        "{PATH} is stale: run `KEFU_WRITE_TYPES=1 cargo test -p chat-core --features ts --test typescript`"
    );
}
