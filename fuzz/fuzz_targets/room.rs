//! Sequences of sends, closes, commits, disconnects, reconnects, crashes and waits, chosen by the
//! fuzzer, through the room with clients that behave as the real ones: afterwards nothing sent
//! is lost, doubled or reordered (the checks of `crates/chat-core/tests/no_loss.rs`).

#![no_main]

#[path = "../../crates/chat-core/tests/sim/mod.rs"]
mod sim;

use libfuzzer_sys::fuzz_target;
use sim::world::{AGENTS, Op, VISITORS, World};

/// One operation from two bytes.
fn op(kind: u8, arg: u8) -> Op {
    let arg = usize::from(arg);
    match kind % 21 {
        0..=5 => Op::VisitorSends(arg % VISITORS),
        6..=9 => Op::AgentSends { agent: arg % AGENTS, pick: arg / AGENTS },
        10 => Op::AgentCloses { agent: arg % AGENTS, pick: arg / AGENTS },
        11..=14 => Op::Commit(arg % 6),
        15 | 16 => Op::Disconnect(arg % (VISITORS + AGENTS)),
        17 | 18 => Op::Reconnect(arg % (VISITORS + AGENTS)),
        19 => Op::Crash,
        _ => Op::Wait(arg as u64 * 12),
    }
}

fuzz_target!(|data: &[u8]| {
    // At most 200 operations: longer runs find nothing shorter ones cannot, and stay fast.
    let mut world = World::new();
    for pair in data.chunks_exact(2).take(200) {
        world.apply(op(pair[0], pair[1]));
    }
    world.settle();
    world.check();
});
