//! How many threads the hunt's CPU work may use, and a map of independent
//! pieces of work over them.
//!
//! The hunt shares the host it examines, so it takes the cores there are
//! but at most four. Its start (reading some fifty long multilingual
//! regexes for their branches and literals, and building the prefilter's
//! automata) took a tenth of a 100,000-event hunt on one core while the
//! others waited.

use std::sync::atomic::{AtomicUsize, Ordering};

/// How many threads: the cores there are, at most four; `IR_HUNT_THREADS`
/// sets it (1 to 16), for a host that must not be loaded and for
/// measuring.
pub fn threads() -> usize {
    let set = std::env::var("IR_HUNT_THREADS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok());
    match set {
        Some(n) => n.clamp(1, 16),
        None => std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
    }
}

/// `f` of each item, in order, computed on [`threads`] threads (each takes
/// the next item not yet taken, so one slow item does not hold up a
/// share). A panic in `f` is resumed on the calling thread.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = threads().min(items.len());
    if n <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, f(item)));
        }
    };
    let mut out: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n).map(|_| s.spawn(work)).collect();
        for h in handles {
            let done = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            for (i, r) in done {
                out[i] = Some(r);
            }
        }
    });
    out.into_iter()
        .map(|r| r.expect("every item is taken by a thread"))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<u64> = (0..500).collect();
        let out = super::map(&items, |i| i * i);
        assert_eq!(out, items.iter().map(|i| i * i).collect::<Vec<_>>());
        assert!(super::map(&[] as &[u8], |b| *b).is_empty());
    }

    #[test]
    #[should_panic(expected = "item 7")]
    fn a_panic_reaches_the_caller() {
        let items: Vec<u32> = (0..20).collect();
        super::map(&items, |i| assert_ne!(*i, 7, "item 7"));
    }
}
