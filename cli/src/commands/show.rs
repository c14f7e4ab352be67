//! `fleche show KEY-PREFIX`: one call's metadata, arguments and result, the values as text.

use fleche::codec::inspect;
use fleche::record::CallRecord;
use serde::Serialize;

use crate::failure::Outcome;
use crate::out::{self, Options};
use crate::target::Target;

/// `fleche show`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The call key, or a prefix of at least 4 hex characters
    key: String,
}

/// A value as `--json` shows it.
#[derive(Debug, Serialize)]
struct ShownValue {
    digest: String,
    size: Option<u64>,
    text: String,
}

#[derive(Debug, Serialize)]
struct Shown<'a> {
    key: String,
    /// The stack layer it came from, on a stack.
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<&'a str>,
    record: &'a CallRecord,
    arguments: Vec<(String, ShownValue)>,
    result: ShownValue,
}

/// Runs `fleche show`.
pub fn run(target: &Target, args: &Args, options: Options) -> Outcome {
    let cache = target.open_read_layers()?;
    let call = cache.load(args.key.as_str())?;
    let width = out::width();
    let text_width = if options.json {
        4096
    } else {
        width.saturating_sub(16).max(20)
    };
    let value = |digest: fleche::Digest| -> Result<ShownValue, fleche::Error> {
        Ok(match cache.value_bytes(&digest)? {
            Some(bytes) => ShownValue {
                digest: digest.to_string(),
                size: Some(bytes.len() as u64),
                text: text_of(&bytes, text_width),
            },
            None => ShownValue {
                digest: digest.to_string(),
                size: None,
                text: "<not stored>".into(),
            },
        })
    };
    let record = call.record();
    let arguments = record
        .arguments
        .iter()
        .map(|(name, digest)| Ok((name.clone(), value(*digest)?)))
        .collect::<Result<Vec<_>, fleche::Error>>()?;
    let result = value(record.result)?;
    if options.json {
        return out::json(&Shown {
            key: call.key().to_string(),
            layer: call.layer(),
            record,
            arguments,
            result,
        });
    }
    let md = &record.metadata;
    let line = |label: &str, text: &str| println!("{label:<13}{}", out::cut(text, width - 13));
    line("key", &call.key().to_string());
    if let Some(layer) = call.layer() {
        line("layer", layer);
    }
    line("function", &format!("{}::{}", record.module, record.name));
    if let Some(version) = &record.version {
        line("version", version);
    }
    if let Some(code) = &record.code {
        line("code", &code.to_string());
    }
    line("started", &out::time(md.timestart));
    line("stopped", &out::time(md.timestop));
    line("wall", &fleche_tui::times::wall(md.walltime));
    if let Some(r) = &md.resources {
        let cpu = |s: Option<f64>| s.map_or("?".to_owned(), fleche_tui::times::wall);
        line(
            "cpu",
            &format!("{} user, {} system", cpu(r.cpu_user), cpu(r.cpu_system)),
        );
        if let Some(bytes) = r.peak_memory_growth {
            line("peak memory", &format!("+{}", out::human_size(bytes)));
        }
    }
    for (k, v) in &md.tags {
        line("tag", &format!("{k} = {v}"));
    }
    if let Some(env) = &md.environment {
        line(
            "host",
            &format!("{}@{} in {}", env.user, env.hostname, env.cwd),
        );
    }
    if let Some(git) = &md.git {
        let dirty = if git.dirty == Some(true) {
            " (dirty)"
        } else {
            ""
        };
        let branch = git.branch.as_deref().unwrap_or("?");
        let commit = git.commit.as_deref().unwrap_or("?");
        line("git", &format!("{branch} {commit}{dirty}"));
    }
    for (namespace, value) in &md.namespaces {
        line(namespace, &value.to_string());
    }
    for (name, v) in &arguments {
        line(&format!("arg {name}"), &v.text);
    }
    let size = result.size.map_or("not stored".into(), out::human_size);
    line("result type", &record.result_type);
    line("result size", &size);
    line("result", &result.text);
    Ok(())
}

/// A value as text: a text value as it is, anything else as the codec renders it.
fn text_of(bytes: &[u8], max: usize) -> String {
    match inspect::Item::parse(bytes).ok().and_then(|i| i.as_str()) {
        Some(text) => out::cut(text, max),
        None => inspect::summary(bytes, max),
    }
}
