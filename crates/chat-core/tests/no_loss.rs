//! Random interleavings of sends, retries, disconnects, resumes, partial commits and crashes never
//! lose, double or reorder a conversation's messages.
//!
//! Clients behave as the real ones do: every send goes to an outbox and leaves it on `ack`;
//! reconnecting resumes from the highest `seq` held and resends the outbox. After the random
//! part, everything settles (commit, reconnect, resend) and the checks run.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use proptest::prelude::*;
use sim::world::{AGENTS, Op, VISITORS, World};

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..VISITORS).prop_map(Op::VisitorSends),
        4 => (0..AGENTS, 0..8usize).prop_map(|(agent, pick)| Op::AgentSends { agent, pick }),
        1 => (0..AGENTS, 0..8usize).prop_map(|(agent, pick)| Op::AgentCloses { agent, pick }),
        4 => (0..6usize).prop_map(Op::Commit),
        2 => (0..VISITORS + AGENTS).prop_map(Op::Disconnect),
        2 => (0..VISITORS + AGENTS).prop_map(Op::Reconnect),
        1 => Just(Op::Crash),
        1 => (0..3_000u64).prop_map(Op::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn nothing_is_lost_doubled_or_reordered(ops in proptest::collection::vec(op(), 1..120)) {
        let mut world = World::new();
        for op in ops {
            world.apply(op);
        }
        world.settle();
        world.check();
    }
}

/// Interleavings the fuzzer found (`fuzz/`, target `room`), kept as they were found.
#[test]
fn interleavings_the_fuzzer_found() {
    use Op::*;
    let found = [vec![
        VisitorSends(0),
        VisitorSends(0),
        VisitorSends(1),
        Disconnect(0),
        Wait(2760),
        Wait(2760),
        VisitorSends(0),
        Commit(4),
        AgentCloses { agent: 1, pick: 12 },
        Wait(2760),
        VisitorSends(0),
        Reconnect(0),
        Disconnect(0),
    ]];
    for ops in found {
        let mut world = World::new();
        for op in ops {
            world.apply(op);
        }
        world.settle();
        world.check();
    }
}
