//! How far the readers of an import may run ahead of its writer, in bytes of events.
//!
//! The writer applies units in plan order; readers finish them in any order. Readers
//! that have read ahead wait here while what waits for the writer is over the budget,
//! except for the unit the writer needs next, which always passes (so a full backlog
//! can never hold up the writer, and the import cannot stall).

use std::sync::{Condvar, Mutex, MutexGuard};

/// A byte budget shared by an import's readers and its writer.
pub(crate) struct Backlog {
    limit: usize,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    /// Bytes admitted and not yet taken by the writer.
    held: usize,
    /// Index of the unit the writer applies next.
    next: usize,
    /// The writer stopped: nobody waits any more.
    closed: bool,
}

impl Backlog {
    /// A backlog holding up to `limit` bytes (more only for the unit the writer needs).
    pub(crate) fn new(limit: usize) -> Backlog {
        Backlog {
            limit,
            state: Mutex::new(State {
                held: 0,
                next: 0,
                closed: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A reader that panicked while holding the lock left plain counters behind.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A reader's unit `index` of `bytes` waits until it fits, is the one the writer
    /// needs next, or the writer stopped.
    pub(crate) fn admit(&self, index: usize, bytes: usize) {
        let mut s = self.lock();
        while !s.closed && index != s.next && s.held > 0 && s.held + bytes > self.limit {
            s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.held += bytes;
    }

    /// The writer took a unit of `bytes` and now needs unit `next`.
    pub(crate) fn taken(&self, bytes: usize, next: usize) {
        let mut s = self.lock();
        s.held = s.held.saturating_sub(bytes);
        s.next = next;
        drop(s);
        self.changed.notify_all();
    }

    /// The writer stopped: release every waiting reader.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// Runs `admit` on a thread; reports whether it returned within a short wait.
    fn admitted_soon(b: &Arc<Backlog>, index: usize, bytes: usize) -> Arc<AtomicBool> {
        let done = Arc::new(AtomicBool::new(false));
        let (b, d) = (Arc::clone(b), Arc::clone(&done));
        std::thread::spawn(move || {
            b.admit(index, bytes);
            d.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(Duration::from_millis(100));
        done
    }

    /// Whether `flag` is set within a few seconds (a released thread may be slow to run).
    fn eventually(flag: &AtomicBool) -> bool {
        (0..500).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            flag.load(Ordering::SeqCst)
        })
    }

    #[test]
    fn a_unit_past_the_budget_waits_until_the_writer_takes_enough() {
        let b = Arc::new(Backlog::new(100));
        b.admit(1, 80);
        let waiting = admitted_soon(&b, 2, 30);
        assert!(!waiting.load(Ordering::SeqCst), "80 + 30 > 100 must wait");
        b.taken(80, 2);
        assert!(eventually(&waiting), "room again: admitted");
    }

    #[test]
    fn the_unit_the_writer_needs_next_and_a_lone_large_unit_always_pass() {
        let b = Arc::new(Backlog::new(100));
        b.admit(3, 90);
        assert!(eventually(&admitted_soon(&b, 0, 500)), "the writer's next");
        let b = Arc::new(Backlog::new(100));
        assert!(
            eventually(&admitted_soon(&b, 5, 500)),
            "an empty backlog takes any unit"
        );
    }

    #[test]
    fn closing_releases_waiting_readers() {
        let b = Arc::new(Backlog::new(10));
        b.admit(1, 10);
        let waiting = admitted_soon(&b, 2, 10);
        assert!(!waiting.load(Ordering::SeqCst));
        b.close();
        assert!(eventually(&waiting));
    }
}
