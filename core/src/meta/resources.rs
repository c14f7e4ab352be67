//! The built-in `resources` collector: CPU time (user and system) of the thread that ran the
//! call, and how much the process's peak resident memory grew during it.
//!
//! Linux tells both through `getrusage` (one system call before the body, one after);
//! elsewhere the entries are `None`.

use super::{CollectResult, Collector, ResourceFacts, Unrecorded};

/// Records what a call cost besides wall time (namespace `resources`; on by default).
///
/// - `cpu_user`, `cpu_system`: seconds of CPU the calling thread spent in user mode and in
///   the kernel, as `getrusage(RUSAGE_THREAD)` tells them. The kernel samples how the time
///   splits between the two at each clock tick, so they are exact over many milliseconds
///   but coarse for shorter calls (a call of a few microseconds may show a millisecond in
///   one of them). Work the body hands to other threads (rayon, a thread pool) is not
///   counted.
/// - `peak_memory_growth`: bytes by which the process's peak resident set size (the most
///   memory it ever held at once) rose during the call. It is 0 when the call used less than
///   an earlier peak, and it counts every thread of the process, so it is exact only for the
///   first large call of a program, or when the call sets a new peak.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResourcesCollector;

/// One reading: the thread's CPU times in microseconds and the process's peak RSS in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    user_us: i64,
    system_us: i64,
    peak_rss: i64,
}

impl Collector for ResourcesCollector {
    type Before = Unrecorded<Option<Reading>>;
    type After = ResourceFacts;

    fn name(&self) -> &str {
        "resources"
    }

    fn before(&self) -> CollectResult<Self::Before> {
        Ok(Unrecorded(read()))
    }

    fn after(&self, before: &Self::Before) -> CollectResult<ResourceFacts> {
        let (Some(b), Some(a)) = (before.0, read()) else {
            return Ok(ResourceFacts::default());
        };
        let seconds = |us: i64| us.max(0) as f64 / 1e6;
        Ok(ResourceFacts {
            cpu_user: Some(seconds(a.user_us - b.user_us)),
            cpu_system: Some(seconds(a.system_us - b.system_us)),
            peak_memory_growth: Some((a.peak_rss - b.peak_rss).max(0) as u64),
        })
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn read() -> Option<Reading> {
    // The one way to ask the kernel; no crate made for the job wraps RUSAGE_THREAD.
    #[allow(unsafe_code)]
    fn usage(who: libc::c_int) -> Option<libc::rusage> {
        // SAFETY: `rusage` is plain integers, for which all zeroes is a valid value, and
        // getrusage writes only into the struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        (unsafe { libc::getrusage(who, &mut u) } == 0).then_some(u)
    }
    // `time_t` and `c_long` are narrower than i64 on 32-bit targets.
    #[allow(clippy::useless_conversion)]
    let micros = |t: libc::timeval| i64::from(t.tv_sec) * 1_000_000 + i64::from(t.tv_usec);
    // One call: the thread's reading holds the process's peak too (Linux fills `ru_maxrss`
    // from the process's memory whoever asks). A `RUSAGE_SELF` reading would add the CPU
    // time of every thread, which the kernel sums under a lock: a quarter of a small
    // memory-cache miss in a process with a few dozen threads.
    let thread = usage(libc::RUSAGE_THREAD)?;
    #[allow(clippy::useless_conversion)]
    Some(Reading {
        user_us: micros(thread.ru_utime),
        system_us: micros(thread.ru_stime),
        // Linux gives the peak in KiB.
        peak_rss: i64::from(thread.ru_maxrss) * 1024,
    })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn read() -> Option<Reading> {
    None
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    /// The calling thread's reading holds the peak memory of the whole process: a block
    /// larger than the peak so far, touched by another thread, shows in it as it does in the
    /// process's own reading.
    #[test]
    fn a_threads_reading_holds_the_process_peak() {
        let before = read().unwrap().peak_rss;
        let (held, hold) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
        let size = before as usize + (64 << 20);
        let other = std::thread::spawn(move || {
            let block = vec![1u8; size];
            held.0.send(()).unwrap();
            hold.1.recv().unwrap();
            std::hint::black_box(block);
        });
        held.1.recv().unwrap();
        // SAFETY: as in `read`. (`c_long` is narrower than i64 on 32-bit targets.)
        #[allow(unsafe_code, clippy::useless_conversion)]
        let process = unsafe {
            let mut u: libc::rusage = std::mem::zeroed();
            assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut u), 0);
            i64::from(u.ru_maxrss) * 1024
        };
        let after = read().unwrap().peak_rss;
        hold.0.send(()).unwrap();
        other.join().unwrap();
        assert!(after >= process, "thread {after} < process {process}");
        assert!(after >= before + (48 << 20), "peak {before} -> {after}");
    }
}
