//! Build facts compiled into fleche:
//!
//! - `FLECHE_RUSTC_VERSION`: the rustc that compiles fleche, for the `environment` collector.
//! - `FLECHE_BUILD_ID`: a fingerprint of this build. The evcxr kernel links a copy of fleche
//!   into every cell, and those copies share process-wide state (`src/process.rs`) only with
//!   copies built from the same sources, features and compiler, whose types are laid out
//!   alike.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let version = Command::new(&rustc)
        .arg("-vV")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    // The first line of `rustc -vV` is what `rustc --version` prints.
    let short = version.lines().next().unwrap_or_default().trim();
    println!("cargo:rustc-env=FLECHE_RUSTC_VERSION={short}");

    let mut hasher = DefaultHasher::new();
    hash_dir(Path::new("src"), &mut hasher);
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("CARGO_FEATURE_")
                || ["CARGO_PKG_VERSION", "PROFILE", "OPT_LEVEL", "TARGET"].contains(&k.as_str())
        })
        .collect();
    env.sort();
    env.hash(&mut hasher);
    version.hash(&mut hasher);
    println!("cargo:rustc-env=FLECHE_BUILD_ID={:016x}", hasher.finish());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-env-changed=RUSTC");
}

fn hash_dir(dir: &Path, hasher: &mut DefaultHasher) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            hash_dir(&path, hasher);
        } else if let Ok(bytes) = std::fs::read(&path) {
            path.hash(hasher);
            bytes.hash(hasher);
        }
    }
}
