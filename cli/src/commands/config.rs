//! `fleche config`: which fleche.toml files apply, the caches they name, and which cache is
//! the default and why.

use serde::Serialize;

use fleche::config::{CacheSpec, Config, human_size};

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
    /// The layers of the default cache, top first, when it is a stack.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    layers: Vec<Layer>,
    chosen_by_cache_option: Option<String>,
}

/// One layer of the default stack, as `fleche config` explains it.
#[derive(Serialize)]
struct Layer {
    name: String,
    location: String,
    read_only: bool,
    max_size: Option<u64>,
    /// What the stack does with it, in words.
    role: String,
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
        layers: layers(&resolved.spec),
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
    if shown.layers.is_empty() {
        println!("default cache: {name}{} ({})", shown.default, shown.why);
    } else {
        println!(
            "default cache: a stack of {} layers ({}), looked up top first:",
            shown.layers.len(),
            shown.why
        );
        for (i, layer) in shown.layers.iter().enumerate() {
            println!("  {}. {:<10} {}", i + 1, layer.name, layer.location);
            println!("     {}", layer.role);
        }
    }
    if let Some(given) = &shown.chosen_by_cache_option {
        println!("--cache chooses: {given}");
    }
    Ok(())
}

/// The layers of a stack and what the stack does with each, top first.
fn layers(spec: &CacheSpec) -> Vec<Layer> {
    let CacheSpec::Stack(layers) = spec else {
        return Vec::new();
    };
    if layers.len() < 2 {
        // One section with options: its description says it all.
        return Vec::new();
    }
    let top = layers.iter().position(|l| !l.read_only);
    layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut role = if l.read_only {
                "read-only: never written; skipped with a warning when missing or damaged"
                    .to_owned()
            } else if Some(i) == top {
                "new results are stored here, and hits in the layers below are copied here"
                    .to_owned()
            } else {
                "looked up when the layers above miss; not written".to_owned()
            };
            if let Some(max) = l.max_size {
                role.push_str(&format!(
                    "; max_size {}: least recently used calls are evicted above it",
                    human_size(max)
                ));
            }
            Layer {
                name: l.name.clone(),
                location: l.spec.to_string(),
                read_only: l.read_only,
                max_size: l.max_size,
                role,
            }
        })
        .collect()
}

fn spec_text(spec: &CacheSpec) -> String {
    spec.to_string()
}
