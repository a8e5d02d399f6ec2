//! Any text a client or a server could send: parsing never panics, and a frame that parses is
//! written back to the same frame.

#![no_main]

use chat_core::protocol::{parse_agent_frame, parse_server_frame, parse_visitor_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(frame) = parse_visitor_frame(text) {
        let again = serde_json::to_string(&frame).expect("a frame writes");
        assert_eq!(parse_visitor_frame(&again).ok(), Some(frame), "visitor frame round trip");
    }
    if let Ok(frame) = parse_agent_frame(text) {
        let again = serde_json::to_string(&frame).expect("a frame writes");
        assert_eq!(parse_agent_frame(&again).ok(), Some(frame), "agent frame round trip");
    }
    if let Ok(frame) = parse_server_frame(text) {
        assert_eq!(parse_server_frame(&frame.to_json()).ok(), Some(frame), "server frame round trip");
    }
});
