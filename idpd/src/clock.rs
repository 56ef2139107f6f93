//! The one clock of the daemon: every "now" the domain and the store compare with comes
//! from [`now`], truncated to microseconds (the precision both backends store), so a value
//! read back equals the value written.
//!
//! Tests move time instead of sleeping: [`at`] runs a future with the clock standing at a
//! given instant, and [`Frozen::advance`] moves it. The override lives in a task-local,
//! so it reaches exactly the code the test drives (not tasks it spawns, not other tests).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::{Duration, OffsetDateTime};

tokio::task_local! {
    static FROZEN: Frozen;
}

/// The current time (UTC, microsecond precision).
pub fn now() -> OffsetDateTime {
    FROZEN
        .try_with(Frozen::get)
        .unwrap_or_else(|_| truncate(OffsetDateTime::now_utc()))
}

fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000)
        .unwrap_or(t)
}

/// A stopped clock a test holds on to and moves.
#[derive(Clone, Debug)]
pub struct Frozen(Arc<AtomicI64>);

impl Frozen {
    /// Stopped at `t`.
    pub fn new(t: OffsetDateTime) -> Frozen {
        let micros = (truncate(t).unix_timestamp_nanos() / 1000) as i64;
        Frozen(Arc::new(AtomicI64::new(micros)))
    }

    pub fn get(&self) -> OffsetDateTime {
        let micros = self.0.load(Ordering::SeqCst);
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Moves the clock forward by `d` (or back, with a negative `d`).
    pub fn advance(&self, d: Duration) {
        let micros = d.whole_microseconds() as i64;
        self.0.fetch_add(micros, Ordering::SeqCst);
    }
}

/// Runs `f` with [`now`] answering from `clock`.
pub async fn at<F: Future>(clock: &Frozen, f: F) -> F::Output {
    FROZEN.scope(clock.clone(), f).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_frozen_clock_moves_only_when_told() {
        let start = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let clock = Frozen::new(start);
        at(&clock, async {
            assert_eq!(now(), start);
            clock.advance(Duration::minutes(11));
            assert_eq!(now(), start + Duration::minutes(11));
        })
        .await;
        // Outside, the real clock (microseconds).
        let real = now();
        assert!(real > start + Duration::days(300), "{real}");
        assert_eq!(real.nanosecond() % 1000, 0);
    }
}
