//! When a failed delivery is tried again.

use std::time::Duration;

/// The waits after the 1st, 2nd, … failed attempt.
const SCHEDULE: [Duration; 5] = [
    Duration::from_secs(10),
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(15 * 60),
    Duration::from_secs(60 * 60),
];

/// How long to wait before the next attempt, given the attempts made so far (all of
/// them failed with a retriable error): 0 → at once, then 10 s, 1 min, 5 min, 15 min
/// and 1 h; after the 6th failed attempt `None`: give up (about 1 h 21 min after the
/// first try). Non-retriable errors give up at once regardless.
pub fn backoff(attempts_made: u32) -> Option<Duration> {
    match attempts_made {
        0 => Some(Duration::ZERO),
        n => SCHEDULE.get(n as usize - 1).copied(),
    }
}

/// Attempts made before [`backoff`] gives up.
pub const MAX_ATTEMPTS: u32 = SCHEDULE.len() as u32 + 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_then_give_up() {
        let secs: Vec<Option<u64>> = (0..=7).map(|n| backoff(n).map(|d| d.as_secs())).collect();
        assert_eq!(
            secs,
            [
                Some(0),
                Some(10),
                Some(60),
                Some(300),
                Some(900),
                Some(3600),
                None,
                None
            ]
        );
        assert_eq!(MAX_ATTEMPTS, 6);
        assert_eq!(backoff(MAX_ATTEMPTS), None);
        assert_eq!(backoff(u32::MAX), None);
    }
}
