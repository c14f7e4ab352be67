//! The built-in `environment` collector: host, user, working directory, program and
//! versions, taken when each call runs.
//!
//! What cannot change within a process (host, user, program, versions) is read once; the
//! working directory, which a notebook may change between calls, is read on every miss.

use std::sync::OnceLock;

use super::{CollectResult, Collector, EnvironmentFacts};

/// Records where a call ran (namespace `environment`; on with `metadata = ["environment"]`).
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvironmentCollector;

/// The facts that stay for the life of the process.
struct Fixed {
    hostname: String,
    user: String,
    program: String,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| Fixed {
        hostname: hostname(),
        user: std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_default(),
        program: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    })
}

impl Collector for EnvironmentCollector {
    type Before = EnvironmentFacts;
    type After = ();

    fn name(&self) -> &str {
        "environment"
    }

    fn before(&self) -> CollectResult<EnvironmentFacts> {
        let f = fixed();
        Ok(EnvironmentFacts {
            hostname: f.hostname.clone(),
            user: f.user.clone(),
            cwd: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            program: f.program.clone(),
            fleche_version: env!("CARGO_PKG_VERSION").to_owned(),
            rustc_version: env!("FLECHE_RUSTC_VERSION").to_owned(),
        })
    }

    fn after(&self, _: &EnvironmentFacts) -> CollectResult<()> {
        Ok(())
    }
}

/// The machine's name, as the kernel or the environment tells it.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME").or_else(|_| std::env::var("COMPUTERNAME")))
        .unwrap_or_default()
}
