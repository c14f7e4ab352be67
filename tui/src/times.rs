//! How times read: start and stop times (local time, or UTC for tests and snapshots) and wall
//! times for people.

use chrono::{DateTime, Local, Utc};

/// A time to the second, in local time or in UTC.
pub fn time(t: DateTime<Utc>, local: bool) -> String {
    if local {
        t.with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// A wall time for people: `412 µs`, `13.2 ms`, `2.00 s`, `12m 34s`, `2h 03m`.
pub fn wall(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".into();
    }
    if seconds < 1e-3 {
        format!("{:.0} µs", seconds * 1e6)
    } else if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1e3)
    } else if seconds < 60.0 {
        format!("{seconds:.2} s")
    } else if seconds < 3600.0 {
        let s = seconds as u64;
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        let m = (seconds / 60.0) as u64;
        format!("{}h {:02}m", m / 60, m % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_times_read_well() {
        assert_eq!(wall(0.000_412), "412 µs");
        assert_eq!(wall(0.0132), "13.2 ms");
        assert_eq!(wall(2.0), "2.00 s");
        assert_eq!(wall(754.2), "12m 34s");
        assert_eq!(wall(7380.0), "2h 03m");
    }
}
