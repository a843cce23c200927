//! `cir-eval replay`: re-executes every code block of a trajectory file with the recorded sandbox seed and mode and
//! reports every output that differs byte for byte (see [`cir_rollout::replay`] for what that guarantees).

use std::sync::atomic::{AtomicUsize, Ordering};

use cir_record::Trajectory;
use cir_rollout::{CodeRunner, Difference, replay_one};

/// What a replay found.
#[derive(Debug, Default)]
pub struct ReplaySummary {
    /// Trajectories replayed.
    pub trajectories: usize,
    /// Code blocks executed again.
    pub blocks: usize,
    /// Every execution that differs, in file order.
    pub differences: Vec<Difference>,
}

/// Replays `trajectories` on `workers` threads.
pub fn replay<R: CodeRunner>(trajectories: &[Trajectory], runner: &R, workers: usize) -> ReplaySummary {
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, usize, Vec<Difference>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.clamp(1, trajectories.len().max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(t) = trajectories.get(index) else { break };
                        let (blocks, differences) = replay_one(t, runner);
                        mine.push((index, blocks, differences));
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    // In file order.
    done.sort_by_key(|(index, ..)| *index);
    let mut summary = ReplaySummary { trajectories: trajectories.len(), ..ReplaySummary::default() };
    for (_, blocks, differences) in done {
        summary.blocks += blocks;
        summary.differences.extend(differences);
    }
    summary
}
