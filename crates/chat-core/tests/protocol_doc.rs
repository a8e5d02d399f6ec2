//! `docs/protocol.md` shows every frame, and every example there parses as the enums say.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chat_core::protocol::client::{AGENT_FRAME_TYPES, VISITOR_FRAME_TYPES};
use chat_core::protocol::server::SERVER_FRAME_TYPES;
use chat_core::protocol::{ErrorCode, close, parse_agent_frame, parse_server_frame, parse_visitor_frame};

const DOC: &str = include_str!("../../../docs/protocol.md");

/// The JSON examples fenced as ```json <kind>.
fn examples(kind: &str) -> Vec<String> {
    let fence = format!("```json {kind}\n");
    DOC.split(&fence).skip(1).map(|rest| rest.split("```").next().unwrap().to_owned()).collect()
}

fn type_of(example: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(example).unwrap_or_else(|e| panic!("{e}: {example}"));
    value["type"].as_str().unwrap().to_owned()
}

fn check<T: serde::Serialize + PartialEq + std::fmt::Debug>(
    kind: &str,
    types: &[&str],
    parse: impl Fn(&str) -> Result<T, chat_core::protocol::FrameError>,
) {
    let examples = examples(kind);
    for example in &examples {
        let frame =
            parse(example).unwrap_or_else(|e| panic!("{kind} example does not parse ({e}): {example}"));
        let again = parse(&serde_json::to_string(&frame).unwrap()).unwrap();
        assert_eq!(frame, again, "round trip");
    }
    let shown: Vec<String> = examples.iter().map(|e| type_of(e)).collect();
    for kind_name in types {
        assert!(
            shown.iter().any(|s| s == kind_name),
            "docs/protocol.md has no {kind} example of {kind_name:?}"
        );
    }
}

#[test]
fn every_frame_has_an_example_that_parses() {
    check("visitor", VISITOR_FRAME_TYPES, parse_visitor_frame);
    check("agent", AGENT_FRAME_TYPES, parse_agent_frame);
    check("server", SERVER_FRAME_TYPES, parse_server_frame);
}

#[test]
fn every_error_code_and_close_code_is_documented() {
    let all = [
        ErrorCode::BadFrame,
        ErrorCode::UnknownType,
        ErrorCode::MessageTooLong,
        ErrorCode::HelloRequired,
        ErrorCode::UnsupportedVersion,
        ErrorCode::Unauthorized,
        ErrorCode::TokenExpired,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::InvalidState,
        ErrorCode::RateLimited,
        ErrorCode::SiteFull,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];
    // Adding a code without adding it above fails to compile here.
    for code in all {
        match code {
            ErrorCode::BadFrame
            | ErrorCode::UnknownType
            | ErrorCode::MessageTooLong
            | ErrorCode::HelloRequired
            | ErrorCode::UnsupportedVersion
            | ErrorCode::Unauthorized
            | ErrorCode::TokenExpired
            | ErrorCode::Forbidden
            | ErrorCode::NotFound
            | ErrorCode::InvalidState
            | ErrorCode::RateLimited
            | ErrorCode::SiteFull
            | ErrorCode::Unavailable
            | ErrorCode::Internal => {}
        }
        let name = serde_json::to_value(code).unwrap();
        assert!(DOC.contains(&format!("| `{}` |", name.as_str().unwrap())), "{name} is not in the table");
    }
    for code in [
        close::NORMAL,
        close::TOO_LARGE,
        close::INTERNAL,
        close::RESTARTING,
        close::BAD_HELLO,
        close::UNAUTHORIZED,
        close::HELLO_TIMEOUT,
        close::FORBIDDEN,
        close::IDLE,
        close::SLOW_CONSUMER,
        close::SITE_FULL,
        close::TOO_MANY_SOCKETS,
    ] {
        assert!(DOC.contains(&format!("| {code} |")), "close code {code} is not in the table");
    }
}

#[test]
fn the_limits_table_says_what_the_constants_are() {
    use chat_core::identity::{MAX_IDENTITY_EMAIL_CHARS, MAX_IDENTITY_ID_CHARS, MAX_IDENTITY_NAME_CHARS};
    use chat_core::limits::*;
    let row = |constant: &str| {
        DOC.lines()
            .find(|line| line.starts_with('|') && line.contains(&format!("`{constant}`")))
            .unwrap_or_else(|| panic!("docs/protocol.md has no limits row naming {constant}"))
    };
    // Each constant's value, as the table writes it, in the row that names it.
    let thousands = |n: usize| {
        let digits = n.to_string();
        if n < 10_000 {
            return digits;
        }
        let (head, tail) = digits.split_at(digits.len() - 3);
        format!("{head},{tail}")
    };
    let cases = [
        ("MAX_FRAME_BYTES", format!("{} KiB", MAX_FRAME_BYTES / 1024)),
        ("MAX_MESSAGE_CHARS", thousands(MAX_MESSAGE_CHARS)),
        ("MAX_CID_CHARS", format!("1–{MAX_CID_CHARS}")),
        ("VISITOR_SENDS_PER_SECOND", format!("{VISITOR_SENDS_PER_SECOND}/s, bursts of {VISITOR_SEND_BURST}")),
        ("AGENT_SENDS_PER_SECOND", format!("{AGENT_SENDS_PER_SECOND}/s, bursts of {AGENT_SEND_BURST}")),
        ("FRAMES_PER_SECOND", format!("{FRAMES_PER_SECOND}/s, bursts of {FRAME_BURST}")),
        ("MAX_VISITORS_PER_SITE", thousands(MAX_VISITORS_PER_SITE)),
        ("MAX_CONVERSATIONS_PER_VISITOR", thousands(MAX_CONVERSATIONS_PER_VISITOR)),
        ("MAX_VISITORS_IN_SITE_STATE", thousands(MAX_VISITORS_IN_SITE_STATE)),
        ("AGENT_LEFT_GRACE_MS", format!("{} minutes", AGENT_LEFT_GRACE_MS / 60_000)),
        ("MAX_UNCOMMITTED_WRITES", thousands(MAX_UNCOMMITTED_WRITES)),
        ("STORE_STALL_MS", format!("{} s", STORE_STALL_MS / 1000)),
        ("RESEND_HOLD_MS", format!("at most {} s", RESEND_HOLD_MS / 1000)),
        ("MAX_RESUME_POINTS", format!("{MAX_RESUME_POINTS} (")),
        (
            "MAX_PREVIEW_CHARS",
            format!("last {MAX_PREVIEW_CHARS} characters, one per {TYPING_PREVIEW_INTERVAL_MS} ms"),
        ),
        ("MAX_URL_CHARS", format!("{MAX_URL_CHARS}, {MAX_URL_CHARS}, {MAX_TITLE_CHARS} characters")),
        ("MAX_RATING_COMMENT_CHARS", thousands(MAX_RATING_COMMENT_CHARS)),
        (
            "MAX_IDENTITY_ID_CHARS",
            format!(
                "1–{MAX_IDENTITY_ID_CHARS}, {MAX_IDENTITY_NAME_CHARS}, {MAX_IDENTITY_EMAIL_CHARS} characters"
            ),
        ),
        ("CLIENT_PING_INTERVAL_MS", format!("every {} s", CLIENT_PING_INTERVAL_MS / 1000)),
        ("CLIENT_PONG_WAIT_MS", format!("within {} s", CLIENT_PONG_WAIT_MS / 1000)),
        ("IDLE_TIMEOUT_MS", format!("{} s without a frame", IDLE_TIMEOUT_MS / 1000)),
        ("SOCKET_QUEUE_BYTES", format!("{} MiB of frames", SOCKET_QUEUE_BYTES >> 20)),
        ("SOCKET_QUEUE_MAX_BYTES", format!("{} MiB of frames", SOCKET_QUEUE_MAX_BYTES >> 20)),
        ("MAX_PAGE_MESSAGES", format!("{MAX_PAGE_MESSAGES} messages")),
        ("CID_WINDOW", format!("latest {CID_WINDOW} stored")),
    ];
    for (constant, value) in cases {
        let row = row(constant);
        assert!(row.contains(&value), "docs/protocol.md says of {constant}: {row}\nbut it is {value}");
    }
    // A hello one resume point over the limit still fits in a frame, so its refusal can happen.
    let point = r#"{"conversation":"c_0193f2a4b7c87d21b0e1a2b3c4d5e6f7","last_seq":123456},"#;
    assert!(point.len() * (MAX_RESUME_POINTS + 1) + 300 <= MAX_FRAME_BYTES);
}
