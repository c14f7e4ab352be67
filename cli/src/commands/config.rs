//! `fleche config`: which fleche.toml files apply, the caches they name, and which cache is
//! the default and why.

use serde::Serialize;

use fleche::config::{CacheSpec, Config};

use crate::failure::{Failure, Outcome};
use crate::out::{self, Options};
use crate::target::Target;

#[derive(Serialize)]
struct Shown {
    files: Vec<String>,
    caches: Vec<(String, String)>,
    default: String,
    default_name: Option<String>,
    why: String,
    chosen_by_cache_option: Option<String>,
}

/// Runs `fleche config`.
pub fn run(target: &Target, options: Options) -> Outcome {
    let config = Config::discover().map_err(|e| Failure::usage(e.to_string()))?;
    let resolved = config
        .resolve_default()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let caches: Vec<(String, String)> = config
        .cache_names()
        .map(|name| {
            let spec = config
                .resolve(name)
                .map_or_else(|e| e.to_string(), |r| spec_text(&r.spec));
            (name.to_owned(), spec)
        })
        .collect();
    let given = match target.given() {
        Some(_) => {
            let chosen = target.choose()?;
            let why = chosen.why.map_or(String::new(), |w| format!(" ({w})"));
            Some(format!("{}{why}", chosen.path.display()))
        }
        None => None,
    };
    let shown = Shown {
        files: config
            .files()
            .iter()
            .map(|f| f.display().to_string())
            .collect(),
        caches,
        default: spec_text(&resolved.spec),
        default_name: resolved.name.clone(),
        why: resolved.origin.to_string(),
        chosen_by_cache_option: given,
    };
    if options.json {
        return out::json(&shown);
    }
    if shown.files.is_empty() {
        println!("no fleche.toml applies here");
    } else {
        println!("fleche.toml files, nearest (winning) first:");
        for f in &shown.files {
            println!("  {f}");
        }
    }
    if !shown.caches.is_empty() {
        println!("caches:");
        for (name, spec) in &shown.caches {
            println!("  {name:<12} {spec}");
        }
    }
    let name = shown
        .default_name
        .as_ref()
        .map_or(String::new(), |n| format!("`{n}`, "));
    println!("default cache: {name}{} ({})", shown.default, shown.why);
    if let Some(given) = &shown.chosen_by_cache_option {
        println!("--cache chooses: {given}");
    }
    Ok(())
}

fn spec_text(spec: &CacheSpec) -> String {
    spec.to_string()
}
