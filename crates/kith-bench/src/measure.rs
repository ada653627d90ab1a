//! Paired measurement: an anchor and a candidate run in alternating rounds of
//! the same length, so drift on a shared machine hits both alike. The ratio
//! reported is the median of the per-round ratios.

use std::time::{Duration, Instant};

use cpu_time::ThreadTime;
use serde::Serialize;

/// A body run `iters` times per call.
pub type Body<'a> = Box<dyn FnMut(u64) -> anyhow::Result<()> + 'a>;

/// How long and how often to measure.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Wall time one round of one side aims for.
    pub round: Duration,
    /// Number of paired rounds.
    pub rounds: usize,
}

impl Plan {
    /// 300 ms rounds, `rounds` of them; `quick`: 20 ms, 3 rounds (it proves
    /// the benchmark runs, its numbers are rough).
    pub fn for_mode(quick: bool, rounds: usize) -> Self {
        if quick {
            Self {
                round: Duration::from_millis(20),
                rounds: 3,
            }
        } else {
            Self {
                round: Duration::from_millis(300),
                rounds,
            }
        }
    }
}

/// The outcome of one side.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    /// Median operations per second over the rounds.
    pub ops_per_sec: f64,
    /// Median CPU time of this thread per operation, in microseconds.
    pub cpu_us_per_op: f64,
}

/// Anchor and candidate, measured together.
#[derive(Clone, Debug, Serialize)]
pub struct Paired {
    /// The anchor (raw primitive).
    pub anchor: Side,
    /// The candidate (Kith's code).
    pub candidate: Side,
    /// Median of the per-round `candidate / anchor` throughput ratios.
    pub ratio: f64,
    /// Iterations per round (anchor, candidate).
    pub iters: (u64, u64),
}

struct Round {
    ops_per_sec: f64,
    cpu_us_per_op: f64,
}

fn run(body: &mut Body<'_>, iters: u64) -> anyhow::Result<Round> {
    let cpu = ThreadTime::now();
    let wall = Instant::now();
    body(iters)?;
    let wall = wall.elapsed().as_secs_f64().max(1e-9);
    let cpu = cpu.elapsed().as_secs_f64();
    Ok(Round {
        ops_per_sec: iters as f64 / wall,
        cpu_us_per_op: cpu * 1e6 / iters as f64,
    })
}

/// Iterations that take about `target` (at least 1), found by doubling.
fn calibrate(body: &mut Body<'_>, target: Duration) -> anyhow::Result<u64> {
    let mut iters = 1u64;
    loop {
        let start = Instant::now();
        body(iters)?;
        let took = start.elapsed();
        if took >= target / 4 || iters >= 1 << 40 {
            let scale = target.as_secs_f64() / took.as_secs_f64().max(1e-9);
            return Ok(((iters as f64 * scale) as u64).max(1));
        }
        iters *= 2;
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let at = |i: usize| values.get(i).copied().unwrap_or(f64::NAN);
    if n % 2 == 1 {
        at(n / 2)
    } else {
        (at((n / 2).wrapping_sub(1)) + at(n / 2)) / 2.0
    }
}

/// Measures `anchor` and `candidate` in alternating rounds.
pub fn paired(plan: Plan, mut anchor: Body<'_>, mut candidate: Body<'_>) -> anyhow::Result<Paired> {
    let iters_a = calibrate(&mut anchor, plan.round)?;
    let iters_c = calibrate(&mut candidate, plan.round)?;
    let (mut a_rounds, mut c_rounds, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..plan.rounds.max(1) {
        let a = run(&mut anchor, iters_a)?;
        let c = run(&mut candidate, iters_c)?;
        ratios.push(c.ops_per_sec / a.ops_per_sec);
        a_rounds.push(a);
        c_rounds.push(c);
    }
    let side = |rounds: &[Round]| Side {
        ops_per_sec: median(rounds.iter().map(|r| r.ops_per_sec).collect()),
        cpu_us_per_op: median(rounds.iter().map(|r| r.cpu_us_per_op).collect()),
    };
    Ok(Paired {
        anchor: side(&a_rounds),
        candidate: side(&c_rounds),
        ratio: median(ratios),
        iters: (iters_a, iters_c),
    })
}
