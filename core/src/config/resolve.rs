//! Which cache to open: `FLECHE_CACHE`, then the configuration's `[default] cache`, then the
//! notebook or in-memory fallback; and caches asked for by name or path.

use std::path::Path;
use std::sync::Arc;

use super::{
    CacheSpec, Config, ConfigError, DefaultCache, ENV_CACHE, ENV_EVCXR, LayerSpec, MEMORY, OFF,
    Origin, Resolved, expand_tilde,
};

impl Config {
    /// Decides which cache `cache()` should open, reading `FLECHE_CACHE`,
    /// `EVCXR_IS_RUNTIME` and the current directory (see [`Config::resolve_default_with`]).
    pub fn resolve_default(&self) -> Result<Resolved, ConfigError> {
        let env_cache = std::env::var(ENV_CACHE).ok();
        let in_evcxr = std::env::var_os(ENV_EVCXR).is_some_and(|v| !v.is_empty());
        let cwd = std::env::current_dir().map_err(|source| ConfigError::CurrentDir {
            source: Arc::new(source),
        })?;
        self.resolve_default_with(env_cache.as_deref(), in_evcxr, &cwd)
    }

    /// Decides which cache `cache()` should open.
    ///
    /// 1. `env_cache` (the value of `FLECHE_CACHE`), when set and not blank: a cache name if
    ///    such a section exists or it is `memory`; otherwise a file path (relative to `cwd`) if
    ///    it looks like one (contains a path separator, ends in `.redb`, or starts with `.` or
    ///    `~`); otherwise [`ConfigError::UnknownCache`].
    /// 2. The configuration's `[default] cache`.
    /// 3. Inside the evcxr Jupyter kernel (`in_evcxr`): the file `<cwd>/.fleche/cache.redb`.
    /// 4. Otherwise an in-memory cache.
    pub fn resolve_default_with(
        &self,
        env_cache: Option<&str>,
        in_evcxr: bool,
        cwd: &Path,
    ) -> Result<Resolved, ConfigError> {
        if let Some(value) = env_cache.map(str::trim).filter(|v| !v.is_empty()) {
            return self.resolve_name_or_path(
                value,
                Some(cwd),
                Origin::EnvVar,
                &format!("from the {ENV_CACHE} environment variable"),
            );
        }
        if let Some((default, file)) = &self.default_cache {
            let origin = Origin::ConfigFile(file.clone());
            return match default {
                DefaultCache::Inline(spec) => Ok(Resolved {
                    name: None,
                    spec: spec.clone(),
                    origin,
                }),
                DefaultCache::Name(name) => self.resolve_name(name, origin).ok_or_else(|| {
                    self.unknown_cache(
                        name,
                        format!("named by [default] cache in {}", file.display()),
                        false,
                    )
                }),
                DefaultCache::Stack(names) => Ok(Resolved {
                    name: None,
                    spec: CacheSpec::Stack(self.layers(names, file)?),
                    origin,
                }),
            };
        }
        if in_evcxr {
            return Ok(Resolved {
                name: None,
                spec: CacheSpec::File(cwd.join(".fleche").join("cache.redb")),
                origin: Origin::NotebookDefault,
            });
        }
        Ok(Resolved {
            name: None,
            spec: CacheSpec::Memory,
            origin: Origin::NoConfig,
        })
    }

    /// Resolves a cache asked for by name (a section name or `memory`), or by a file path
    /// under the same rules as `FLECHE_CACHE`; relative paths are joined onto the current
    /// directory. An unknown name is [`ConfigError::UnknownCache`].
    pub fn resolve(&self, name_or_path: &str) -> Result<Resolved, ConfigError> {
        let cwd = std::env::current_dir().ok();
        self.resolve_name_or_path(
            name_or_path.trim(),
            cwd.as_deref(),
            Origin::Requested,
            "requested by name",
        )
    }

    /// The layers `[default] cache = [..]` in `file` lists, top first.
    fn layers(&self, names: &[String], file: &Path) -> Result<Vec<LayerSpec>, ConfigError> {
        let mut layers: Vec<LayerSpec> = Vec::with_capacity(names.len());
        for name in names {
            let bad = |why: &str| ConfigError::BadLayer {
                file: file.to_path_buf(),
                name: name.clone(),
                why: why.to_owned(),
            };
            if layers.iter().any(|l| &l.name == name) {
                return Err(bad("it is listed twice; list each layer once"));
            }
            let resolved = self.resolve_name(name, Origin::Requested).ok_or_else(|| {
                self.unknown_cache(
                    name,
                    format!("listed by [default] cache in {}", file.display()),
                    false,
                )
            })?;
            match resolved.spec {
                CacheSpec::Off => {
                    return Err(bad(
                        "`off` switches caching off and cannot be a layer; write cache = \"off\" on its own",
                    ));
                }
                CacheSpec::Stack(mut inner) => {
                    let Some(mut layer) = inner.pop() else {
                        return Err(bad("it is an empty stack"));
                    };
                    layer.name = name.clone();
                    layers.push(layer);
                }
                spec => layers.push(LayerSpec {
                    name: name.clone(),
                    spec,
                    read_only: false,
                    max_size: None,
                }),
            }
        }
        Ok(layers)
    }

    /// A named section or the `memory` keyword; `None` if unknown. `origin` is used for
    /// `memory`; a section's origin is `default_origin` unless that is `Requested`, in which
    /// case it is the defining file.
    fn resolve_name(&self, name: &str, default_origin: Origin) -> Option<Resolved> {
        if let Some(entry) = self.caches.get(name) {
            let origin = match default_origin {
                Origin::Requested => Origin::ConfigFile(entry.file.clone()),
                other => other,
            };
            return Some(Resolved {
                name: Some(name.to_owned()),
                spec: entry.spec.clone(),
                origin,
            });
        }
        let spec = match name {
            MEMORY => CacheSpec::Memory,
            OFF => CacheSpec::Off,
            _ => return None,
        };
        Some(Resolved {
            name: Some(name.to_owned()),
            spec,
            origin: default_origin,
        })
    }

    fn resolve_name_or_path(
        &self,
        value: &str,
        cwd: Option<&Path>,
        origin: Origin,
        context: &str,
    ) -> Result<Resolved, ConfigError> {
        if let Some(resolved) = self.resolve_name(value, origin.clone()) {
            return Ok(resolved);
        }
        if value.is_empty() || !looks_like_path(value) {
            return Err(self.unknown_cache(value, context.to_owned(), true));
        }
        let expanded = expand_tilde(value, self.home.as_deref(), || context.to_owned())?;
        let path = match cwd {
            Some(cwd) => cwd.join(expanded),
            None => expanded,
        };
        Ok(Resolved {
            name: None,
            spec: CacheSpec::File(path),
            origin,
        })
    }

    fn unknown_cache(&self, name: &str, context: String, accepts_path: bool) -> ConfigError {
        let known = [MEMORY, OFF]
            .into_iter()
            .chain(self.cache_names())
            .map(str::to_owned)
            .collect();
        ConfigError::UnknownCache {
            name: name.to_owned(),
            context,
            known,
            accepts_path,
        }
    }
}

/// Whether a `FLECHE_CACHE` value that is not a known name should be taken as a file path.
fn looks_like_path(value: &str) -> bool {
    value.contains('/')
        || value.contains(std::path::MAIN_SEPARATOR)
        || value.ends_with(".redb")
        || value.starts_with('.')
        || value.starts_with('~')
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::*;

    #[test]
    fn config_env_var_as_name() {
        let config = parse(
            "[default]\ncache = \"project\"\n[project]\npath = \"p.redb\"\n[scratch]\ntype = \"memory\"\n",
        )
        .unwrap();
        let cwd = Path::new("/cwd");
        let r = config
            .resolve_default_with(Some("scratch"), true, cwd)
            .unwrap();
        assert_eq!(
            r,
            Resolved {
                name: Some("scratch".into()),
                spec: CacheSpec::Memory,
                origin: Origin::EnvVar
            }
        );
        let r = config
            .resolve_default_with(Some("memory"), false, cwd)
            .unwrap();
        assert_eq!(
            (r.name.as_deref(), r.spec),
            (Some("memory"), CacheSpec::Memory)
        );
        let r = config
            .resolve_default_with(Some("project"), false, cwd)
            .unwrap();
        assert_eq!(r.spec, file("/proj/p.redb"));
        assert_eq!(r.origin, Origin::EnvVar);
        // Empty means unset.
        let r = config.resolve_default_with(Some(""), false, cwd).unwrap();
        assert_eq!(r.name.as_deref(), Some("project"));
        assert_eq!(r.origin, Origin::ConfigFile("/proj/fleche.toml".into()));
    }

    #[test]
    fn config_env_var_as_path() {
        let t = Tree::new();
        let config = Config::discover_from(&t.home(), Some(&t.home()), None).unwrap();
        let cwd = Path::new("/work/here");
        let path_of = |v: &str| {
            let r = config.resolve_default_with(Some(v), false, cwd).unwrap();
            assert_eq!((r.name.clone(), r.origin.clone()), (None, Origin::EnvVar));
            r.spec
        };
        assert_eq!(path_of("caches/x"), file("/work/here/caches/x"));
        assert_eq!(path_of("x.redb"), file("/work/here/x.redb"));
        assert_eq!(path_of(".cache"), file("/work/here/.cache"));
        assert_eq!(path_of("/abs/y.redb"), file("/abs/y.redb"));
        assert_eq!(path_of("~/z.redb"), file(t.home().join("z.redb")));
    }

    #[test]
    fn config_env_var_unknown_lists_known_names() {
        let config = parse("[project]\npath = \"p.redb\"\n[scratch]\ntype = \"memory\"\n").unwrap();
        let err = config
            .resolve_default_with(Some("nope"), false, Path::new("/cwd"))
            .unwrap_err();
        match &err {
            ConfigError::UnknownCache { name, known, .. } => {
                assert_eq!(name, "nope");
                assert_eq!(known, &["memory", "off", "project", "scratch"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains("FLECHE_CACHE"), "{text}");
        assert!(text.contains("memory, off, project, scratch"), "{text}");
    }

    #[test]
    fn config_unknown_name_in_default_is_error() {
        let config =
            parse("[default]\ncache = \"missing\"\n[project]\npath = \"p.redb\"\n").unwrap();
        let err = config
            .resolve_default_with(None, true, Path::new("/cwd"))
            .unwrap_err();
        assert!(
            matches!(&err, ConfigError::UnknownCache { name, .. } if name == "missing"),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("/proj/fleche.toml"), "{text}");
        assert!(text.contains("[missing]"), "{text}");
        // The environment variable still overrides a broken default.
        assert!(
            config
                .resolve_default_with(Some("memory"), false, Path::new("/cwd"))
                .is_ok()
        );
    }

    #[test]
    fn config_resolve_by_name() {
        let config = parse("[project]\npath = \"p.redb\"\n").unwrap();
        assert_eq!(
            config.resolve("memory").unwrap(),
            Resolved {
                name: Some("memory".into()),
                spec: CacheSpec::Memory,
                origin: Origin::Requested
            }
        );
        assert_eq!(
            config.resolve("project").unwrap().origin,
            Origin::ConfigFile("/proj/fleche.toml".into())
        );
        assert!(matches!(
            config.resolve("other"),
            Err(ConfigError::UnknownCache { .. })
        ));
        let r = config.resolve("/abs/q.redb").unwrap();
        assert_eq!((r.spec, r.origin), (file("/abs/q.redb"), Origin::Requested));
    }

    #[test]
    fn config_evcxr_default() {
        let config = parse("[project]\npath = \"p.redb\"\n").unwrap();
        let r = config
            .resolve_default_with(None, true, Path::new("/nb"))
            .unwrap();
        assert_eq!(
            r,
            Resolved {
                name: None,
                spec: file("/nb/.fleche/cache.redb"),
                origin: Origin::NotebookDefault
            }
        );
    }

    #[test]
    fn config_no_config_memory_default() {
        let r = Config::default()
            .resolve_default_with(None, false, Path::new("/x"))
            .unwrap();
        assert_eq!(
            r,
            Resolved {
                name: None,
                spec: CacheSpec::Memory,
                origin: Origin::NoConfig
            }
        );
    }

    #[test]
    fn config_stack_lists_layers_top_first_with_their_options() {
        let config = parse(
            "[default]\ncache = [\"local\", \"team\"]\n[local]\npath = \"l.redb\"\nmax_size = \"10 GiB\"\n[team]\npath = \"/shared/t.redb\"\nread_only = true\n",
        )
        .unwrap();
        let r = config
            .resolve_default_with(None, false, Path::new("/cwd"))
            .unwrap();
        let CacheSpec::Stack(layers) = &r.spec else {
            panic!("{r:?}")
        };
        assert_eq!(
            layers,
            &[
                LayerSpec {
                    name: "local".into(),
                    spec: file("/proj/l.redb"),
                    read_only: false,
                    max_size: Some(10 << 30),
                },
                LayerSpec {
                    name: "team".into(),
                    spec: file("/shared/t.redb"),
                    read_only: true,
                    max_size: None,
                },
            ]
        );
        assert_eq!(r.spec.top_file(), Some(Path::new("/proj/l.redb")));
        assert!(r.spec.to_string().contains("(read-only)"), "{}", r.spec);
        // FLECHE_CACHE=off and cache = "off" switch caching off.
        let off = config
            .resolve_default_with(Some("off"), false, Path::new("/cwd"))
            .unwrap();
        assert_eq!(off.spec, CacheSpec::Off);
        let off = parse("[default]\ncache = \"off\"\n").unwrap();
        assert_eq!(
            off.resolve_default_with(None, false, Path::new("/cwd"))
                .unwrap()
                .spec,
            CacheSpec::Off
        );
    }

    #[test]
    fn config_stacks_that_cannot_be_say_why() {
        let unknown =
            parse("[default]\ncache = [\"local\", \"nope\"]\n[local]\npath = \"l.redb\"\n")
                .unwrap()
                .resolve_default_with(None, false, Path::new("/cwd"))
                .unwrap_err();
        assert!(
            matches!(&unknown, ConfigError::UnknownCache { name, .. } if name == "nope"),
            "{unknown}"
        );
        let off = parse("[default]\ncache = [\"off\"]\n")
            .unwrap()
            .resolve_default_with(None, false, Path::new("/cwd"))
            .unwrap_err();
        assert!(off.to_string().contains("cannot be a layer"), "{off}");
        let twice = parse("[default]\ncache = [\"memory\", \"memory\"]\n")
            .unwrap()
            .resolve_default_with(None, false, Path::new("/cwd"))
            .unwrap_err();
        assert!(twice.to_string().contains("listed twice"), "{twice}");
        let empty = parse("[default]\ncache = []\n").unwrap_err();
        assert!(matches!(empty, ConfigError::EmptyStack { .. }), "{empty}");
        let size = parse("[local]\npath = \"l.redb\"\nmax_size = \"ten gigs\"\n").unwrap_err();
        assert!(
            size.to_string()
                .contains("max_size = \"ten gigs\" is not a size"),
            "{size}"
        );
        let reserved = parse("[off]\npath = \"l.redb\"\n").unwrap_err();
        assert!(
            matches!(reserved, ConfigError::ReservedName { .. }),
            "{reserved}"
        );
    }

    #[test]
    fn config_sizes_read_with_their_units() {
        use super::super::file::parse_size;
        assert_eq!(parse_size("10 GiB"), Some(10 << 30));
        assert_eq!(parse_size("500MB"), Some(500_000_000));
        assert_eq!(parse_size("1.5 kib"), Some(1536));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("12 parsecs"), None);
        assert_eq!(parse_size(""), None);
    }
}
