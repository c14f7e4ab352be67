//! Gives this build of fleche a fingerprint (`FLECHE_BUILD_ID`): the evcxr kernel links a copy
//! of fleche into every cell, and those copies share process-wide state (`src/process.rs`)
//! only with copies built from the same sources, features and compiler, whose types are laid
//! out alike.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;

fn main() {
    let mut hasher = DefaultHasher::new();
    hash_dir(Path::new("src"), &mut hasher);
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("CARGO_FEATURE_")
                || [
                    "CARGO_PKG_VERSION",
                    "PROFILE",
                    "OPT_LEVEL",
                    "TARGET",
                    "RUSTC",
                ]
                .contains(&k.as_str())
        })
        .collect();
    env.sort();
    env.hash(&mut hasher);
    if let Ok(output) =
        std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned()))
            .arg("-vV")
            .output()
    {
        output.stdout.hash(&mut hasher);
    }
    println!("cargo:rustc-env=FLECHE_BUILD_ID={:016x}", hasher.finish());
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
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
