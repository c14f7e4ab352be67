//! The `resources` collector: CPU time of the calling thread and the growth of the process's
//! peak memory. One test in its own binary, so no other test's allocations set the peak.

use fleche::{Cache, Value, fleche};

/// CPU time of this thread in clock ticks (user + system), as the kernel tells it in
/// `/proc/thread-self/stat`: a measure of its own, to check the collector against.
fn thread_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    // Fields after the command name in parentheses: state is field 3; utime 14, stime 15.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// Spins until this thread has used `ticks` clock ticks of CPU (1/100 s each on Linux),
/// however busy the machine is.
#[fleche]
fn burn(ticks: u64) -> u64 {
    let start = thread_ticks();
    let mut n = 0u64;
    while thread_ticks() < start + ticks {
        for _ in 0..10_000 {
            n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    n % 2
}

#[fleche]
fn sleep(ms: u64) -> u64 {
    std::thread::sleep(std::time::Duration::from_millis(ms));
    ms
}

#[fleche]
fn allocate(mib: usize) -> usize {
    let mut v = vec![0u8; mib << 20];
    // Touch every page so that it is resident.
    for i in (0..v.len()).step_by(4096) {
        v[i] = 1;
    }
    std::hint::black_box(&v);
    v.iter().step_by(4096).filter(|b| **b == 1).count()
}

#[test]
#[cfg(target_os = "linux")]
fn cpu_time_and_peak_memory_growth_are_recorded() {
    let cache = Cache::memory();
    let _a = cache.activate();
    burn(20);
    sleep(200);
    allocate(256);
    let r = |key| {
        cache
            .load(key)
            .unwrap()
            .metadata()
            .resources
            .clone()
            .unwrap()
    };
    let busy = r(burn::digest(20));
    let idle = r(sleep::digest(200));
    let big = r(allocate::digest(256));
    let busy_cpu = busy.cpu_user.unwrap() + busy.cpu_system.unwrap();
    // 20 ticks are 0.2 s; the ticks it read count whole ticks, so allow one either side.
    assert!(busy_cpu > 0.18, "{busy:?}");
    assert!(busy_cpu < 0.5, "{busy:?}");
    assert!(
        idle.cpu_user.unwrap() + idle.cpu_system.unwrap() < 0.1,
        "{idle:?}"
    );
    // Less than 256 MiB when the process had freed memory below an earlier peak: the
    // growth is of the peak, not of what the call allocated.
    let grown = big.peak_memory_growth.unwrap();
    assert!(grown >= 128 << 20, "{big:?}");
    assert!(grown <= 400 << 20, "{big:?}");
    // A second allocation below the peak: no growth.
    allocate(64);
    assert_eq!(r(allocate::digest(64)).peak_memory_growth, Some(0));
    // Queries and tables read them.
    let call = burn::query().only().unwrap();
    assert!(
        matches!(call.metadata().get("resources", "cpu_user"), Some(Value::Float(s)) if s > 0.0)
    );
    let table = cache.query().table();
    let row = table
        .rows()
        .find(|r| r.get("name") == Some("sleep"))
        .unwrap();
    assert!(
        row.get("cpu_user")
            .is_some_and(|c| c.parse::<f64>().unwrap() < 0.1)
    );
}
