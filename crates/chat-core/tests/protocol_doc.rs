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
