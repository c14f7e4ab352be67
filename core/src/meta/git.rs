//! The built-in `git` collector: commit, branch and dirty flag of the repository holding the
//! working directory, taken when each call runs.
//!
//! Commit and branch come from reading `.git/HEAD` and the ref it names (a few small file
//! reads per miss, no subprocess), so a commit or a `cd` between two calls is seen by the
//! second. Whether the tree is dirty needs `git status`, which costs milliseconds: it runs
//! again only when the commit, the branch or the index changed, or when the last answer is
//! more than [`DIRTY_FOR`] old.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::{CollectResult, Collector, GitFacts};

/// How long a `git status` answer is reused while commit, branch and index stay the same.
pub const DIRTY_FOR: Duration = Duration::from_secs(1);

/// Records the git state of the working directory (namespace `git`; on with
/// `metadata = ["git"]`). Outside a repository every entry is `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GitCollector;

impl Collector for GitCollector {
    type Before = GitFacts;
    type After = ();

    fn name(&self) -> &str {
        "git"
    }

    fn before(&self) -> CollectResult<GitFacts> {
        let cwd = std::env::current_dir()?;
        let mut state = STATE.lock().unwrap_or_else(|e| e.into_inner());
        Ok(state.facts(cwd))
    }

    fn after(&self, _: &GitFacts) -> CollectResult<()> {
        Ok(())
    }
}

static STATE: Mutex<State> = Mutex::new(State {
    cwd: None,
    repo: None,
    dirty: None,
    packed: None,
});

/// What the collector remembers between calls.
struct State {
    /// The working directory the repository was found for.
    cwd: Option<PathBuf>,
    repo: Option<Repo>,
    dirty: Option<DirtyAnswer>,
    /// `packed-refs`, by its modification time and length.
    packed: Option<(PathBuf, SystemTime, u64, String)>,
}

/// Where a repository's files are.
#[derive(Clone)]
struct Repo {
    /// The work tree (where `git status` runs).
    work_tree: PathBuf,
    /// The directory holding `HEAD` (`.git`, or `.git/worktrees/<name>` for a worktree).
    git_dir: PathBuf,
    /// The directory holding the shared refs and `packed-refs`.
    common_dir: PathBuf,
}

/// The last `git status` answer and what it was asked for.
struct DirtyAnswer {
    commit: Option<String>,
    branch: Option<String>,
    index: Option<SystemTime>,
    when: Instant,
    dirty: Option<bool>,
}

impl State {
    fn facts(&mut self, cwd: PathBuf) -> GitFacts {
        if self.cwd.as_deref() != Some(&cwd) {
            self.repo = find_repo(&cwd);
            self.cwd = Some(cwd);
        }
        let Some(repo) = self.repo.clone() else {
            return GitFacts::default();
        };
        let Ok(head) = std::fs::read_to_string(repo.git_dir.join("HEAD")) else {
            return GitFacts::default();
        };
        let head = head.trim();
        let (commit, branch) = match head.strip_prefix("ref:") {
            Some(reference) => {
                let reference = reference.trim();
                let branch = reference
                    .strip_prefix("refs/heads/")
                    .unwrap_or(reference)
                    .to_owned();
                (self.resolve(&repo, reference), Some(branch))
            }
            None => (Some(head.to_owned()), Some("HEAD".to_owned())),
        };
        let dirty = self.dirty(&repo, &commit, &branch);
        GitFacts {
            commit,
            branch,
            dirty,
        }
    }

    /// The commit a ref names: its loose file, else its line in `packed-refs`.
    fn resolve(&mut self, repo: &Repo, reference: &str) -> Option<String> {
        for dir in [&repo.git_dir, &repo.common_dir] {
            if let Ok(text) = std::fs::read_to_string(dir.join(reference)) {
                return Some(text.trim().to_owned());
            }
        }
        let path = repo.common_dir.join("packed-refs");
        let meta = std::fs::metadata(&path).ok()?;
        let (modified, len) = (meta.modified().ok()?, meta.len());
        let fresh =
            matches!(&self.packed, Some((p, m, l, _)) if *p == path && *m == modified && *l == len);
        if !fresh {
            let text = std::fs::read_to_string(&path).ok()?;
            self.packed = Some((path, modified, len, text));
        }
        let (_, _, _, text) = self.packed.as_ref()?;
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with('^'))
            .find_map(|l| {
                let (hash, name) = l.split_once(' ')?;
                (name.trim() == reference).then(|| hash.to_owned())
            })
    }

    fn dirty(
        &mut self,
        repo: &Repo,
        commit: &Option<String>,
        branch: &Option<String>,
    ) -> Option<bool> {
        let index = || {
            std::fs::metadata(repo.git_dir.join("index"))
                .and_then(|m| m.modified())
                .ok()
        };
        let before = index();
        if let Some(a) = &self.dirty
            && a.commit == *commit
            && a.branch == *branch
            && a.index == before
            && a.when.elapsed() < DIRTY_FOR
        {
            return a.dirty;
        }
        let dirty = run_git(&repo.work_tree, &["status", "--porcelain"]).map(|s| !s.is_empty());
        // `git status` may refresh the index itself; remember the index as it left it.
        self.dirty = Some(DirtyAnswer {
            commit: commit.clone(),
            branch: branch.clone(),
            index: index(),
            when: Instant::now(),
            dirty,
        });
        dirty
    }
}

/// The repository holding `dir`: the nearest `.git` directory, or `.git` file (a worktree or
/// submodule, `gitdir: <path>`), going up.
fn find_repo(dir: &Path) -> Option<Repo> {
    for d in dir.ancestors() {
        let dot = d.join(".git");
        let git_dir = if dot.is_dir() {
            dot
        } else if dot.is_file() {
            let text = std::fs::read_to_string(&dot).ok()?;
            let target = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
            if target.is_absolute() {
                target
            } else {
                d.join(target)
            }
        } else {
            continue;
        };
        let common_dir = match std::fs::read_to_string(git_dir.join("commondir")) {
            Ok(rel) => git_dir.join(rel.trim()),
            Err(_) => git_dir.clone(),
        };
        return Some(Repo {
            work_tree: d.to_path_buf(),
            git_dir,
            common_dir,
        });
    }
    None
}

/// Runs git in `dir` with a 2 s limit; `None` when it fails or is not installed.
fn run_git(dir: &Path, args: &[&str]) -> Option<String> {
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // Read while waiting: a long listing must not fill the pipe and stall git.
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let deadline = Instant::now() + Duration::from_secs(2);
    let ok = loop {
        match child.try_wait().ok()? {
            Some(status) => break status.success(),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
            None => std::thread::sleep(Duration::from_millis(1)),
        }
    };
    let out = reader.join().ok()?.ok()?;
    ok.then(|| String::from_utf8_lossy(&out).trim().to_owned())
}
