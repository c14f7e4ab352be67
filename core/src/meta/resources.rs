//! The built-in `resources` collector: CPU time (user and system) of the thread that ran the
//! call, and how much the process's peak resident memory grew during it.
//!
//! Linux tells both through `getrusage` (two system calls before the body, two after);
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
    let thread = usage(libc::RUSAGE_THREAD)?;
    let process = usage(libc::RUSAGE_SELF)?;
    #[allow(clippy::useless_conversion)]
    Some(Reading {
        user_us: micros(thread.ru_utime),
        system_us: micros(thread.ru_stime),
        // Linux gives the peak in KiB.
        peak_rss: i64::from(process.ru_maxrss) * 1024,
    })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn read() -> Option<Reading> {
    None
}
