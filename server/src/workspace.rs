//! The definitions in the workspace's files, for cross-file context
//! (`context/related.rs`).
//!
//! [`DefinitionIndex`] maps each file's path, relative to its workspace root
//! (as the model sees it), to the definitions extracted from its syntax tree,
//! and each name to where it is defined. It is filled from two sides:
//! - [`scan_workspace`] walks a root once, within [`ScanLimits`], reading and
//!   parsing files on a blocking thread;
//! - open documents replace their file's entry as they are edited. Editing
//!   only marks the file ([`DefinitionIndex::mark_changed`], O(1): the rope
//!   and tree are shared, not copied); its definitions are extracted when a
//!   completion in *another* file needs them ([`refresh_pending`]), because a
//!   file's own definitions are never shown in its own prompts. Typing thus
//!   costs nothing here, and a file is re-extracted at most once per switch.
//!
//! An open document's text always wins over the disk: the scan never replaces
//! an entry that came from the editor.

use std::{
    collections::{HashMap, VecDeque},
    fs,
    path::{Path, PathBuf},
    sync::Arc,
};

use hearth_grammars::Lang;
use parking_lot::Mutex;
use ropey::Rope;
use tree_sitter::Tree;

use crate::{
    context::related::{Definition, extract_definitions},
    documents::parse_fresh,
};

/// Where a file's entry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Read from disk by the workspace scan.
    Disk,
    /// An open document's text, possibly unsaved.
    Editor,
}

/// The definitions of the workspace, by file and by name.
#[derive(Default)]
pub struct DefinitionIndex {
    files: HashMap<Arc<str>, FileEntry>,
    /// Each name's definitions, as (path, index into the file's list).
    by_name: HashMap<String, Vec<(Arc<str>, usize)>>,
    /// Open documents edited since their definitions were extracted.
    pending: HashMap<Arc<str>, PendingFile>,
    /// Orders updates: an older extraction never replaces a newer one.
    generation: u64,
}

struct FileEntry {
    definitions: Vec<Definition>,
    origin: Origin,
    generation: u64,
}

/// An open document's state whose definitions are still to be extracted.
pub struct PendingFile {
    path: Arc<str>,
    lang: Lang,
    text: Rope,
    tree: Tree,
    generation: u64,
}

impl PendingFile {
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Extracts the definitions; the slow part, to run without the lock.
    pub fn extract(&self) -> Vec<Definition> {
        extract_definitions(self.lang, &self.text.to_string(), &self.tree)
    }
}

impl DefinitionIndex {
    /// Replaces `path`'s definitions with those in `source` (parsed as
    /// `tree`), as the editor has it.
    pub fn update_file(&mut self, path: &str, lang: Lang, source: &str, tree: &Tree) {
        let definitions = extract_definitions(lang, source, tree);
        let generation = self.next_generation();
        self.pending.remove(path);
        self.install(path.into(), definitions, Origin::Editor, generation);
    }

    /// Records that an open document changed; `tree` must be current for
    /// `text`. Its definitions are extracted later, by [`refresh_pending`].
    pub fn mark_changed(&mut self, path: &str, lang: Lang, text: Rope, tree: Tree) {
        let generation = self.next_generation();
        let path: Arc<str> = path.into();
        self.pending.insert(path.clone(), PendingFile { path, lang, text, tree, generation });
    }

    /// Takes the pending files other than `except`, in path order.
    pub fn take_pending(&mut self, except: &str) -> Vec<PendingFile> {
        let mut paths: Vec<Arc<str>> =
            self.pending.keys().filter(|it| &***it != except).cloned().collect();
        paths.sort();
        paths.iter().filter_map(|it| self.pending.remove(it)).collect()
    }

    /// Installs the definitions extracted from a pending file, unless a newer
    /// version of the file was installed meanwhile.
    pub fn finish_pending(&mut self, file: PendingFile, definitions: Vec<Definition>) {
        if self.files.get(&file.path).is_some_and(|it| it.generation > file.generation) {
            return;
        }
        self.install(file.path, definitions, Origin::Editor, file.generation);
    }

    /// Adds a file found by the workspace scan, unless the editor has it
    /// open (or had it): the editor's text is newer. Returns whether it was added.
    pub fn add_scanned(&mut self, file: ScannedFile) -> bool {
        let from_editor = self.pending.contains_key(file.path.as_str())
            || self.files.get(file.path.as_str()).is_some_and(|it| it.origin == Origin::Editor);
        if from_editor {
            return false;
        }
        let generation = self.next_generation();
        self.install(file.path.into(), file.definitions, Origin::Disk, generation);
        true
    }

    /// Records that the editor closed a file: its unsaved edits no longer
    /// count. Returns the token for [`DefinitionIndex::reload`], which puts
    /// what the disk holds in their place.
    pub fn close_file(&mut self, path: &str) -> u64 {
        self.pending.remove(path);
        self.next_generation()
    }

    /// Installs a closed file's definitions as read from disk (`None`: it is
    /// gone), unless the editor opened it again since [`close_file`]
    /// returned `token`.
    ///
    /// [`close_file`]: DefinitionIndex::close_file
    pub fn reload(&mut self, path: &str, token: u64, definitions: Option<Vec<Definition>>) {
        let reopened = self.pending.contains_key(path)
            || self.files.get(path).is_some_and(|it| it.generation > token);
        if reopened {
            return;
        }
        match definitions {
            Some(definitions) => self.install(path.into(), definitions, Origin::Disk, token),
            None => self.uninstall(path),
        }
    }

    /// Forgets a file.
    pub fn remove_file(&mut self, path: &str) {
        self.pending.remove(path);
        self.uninstall(path);
    }

    /// The definitions named `name`, with their files' paths, in no
    /// particular order.
    pub fn lookup<'a>(&'a self, name: &str) -> impl Iterator<Item = (&'a str, &'a Definition)> {
        self.by_name.get(name).into_iter().flatten().filter_map(|(path, index)| {
            let definition = self.files.get(path)?.definitions.get(*index)?;
            Some((&**path, definition))
        })
    }

    /// A file's definitions, in source order.
    pub fn definitions(&self, path: &str) -> Option<&[Definition]> {
        self.files.get(path).map(|it| it.definitions.as_slice())
    }

    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    pub fn definition_count(&self) -> usize {
        self.files.values().map(|it| it.definitions.len()).sum()
    }

    fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    fn install(
        &mut self,
        path: Arc<str>,
        definitions: Vec<Definition>,
        origin: Origin,
        generation: u64,
    ) {
        self.uninstall(&path);
        for (index, definition) in definitions.iter().enumerate() {
            self.by_name.entry(definition.name.clone()).or_default().push((path.clone(), index));
        }
        self.files.insert(path, FileEntry { definitions, origin, generation });
    }

    fn uninstall(&mut self, path: &str) {
        let Some(old) = self.files.remove(path) else { return };
        for definition in &old.definitions {
            if let Some(places) = self.by_name.get_mut(&definition.name) {
                places.retain(|(it, _)| &**it != path);
                if places.is_empty() {
                    self.by_name.remove(&definition.name);
                }
            }
        }
    }
}

/// Brings the entries of edited documents other than `except` up to date,
/// extracting their definitions without holding the lock.
pub fn refresh_pending(index: &Mutex<DefinitionIndex>, except: &str) {
    let pending = index.lock().take_pending(except);
    for file in pending {
        let definitions = file.extract();
        index.lock().finish_pending(file, definitions);
    }
}

/// The definitions in the file at `path`, read from disk; `None` when it
/// cannot be read, is not UTF-8 or is over `max_bytes`. Blocking.
pub fn read_definitions(path: &Path, lang: Lang, max_bytes: u64) -> Option<Vec<Definition>> {
    if fs::metadata(path).ok()?.len() > max_bytes {
        return None;
    }
    // Files that are not UTF-8 are not code the model should see.
    let source = fs::read_to_string(path).ok()?;
    let tree = parse_fresh(lang, &source)?;
    Some(extract_definitions(lang, &source, &tree))
}

/// Bounds on the workspace scan, so that opening a huge folder (or a home
/// directory) costs a few seconds of one background thread at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanLimits {
    /// Files indexed at most.
    pub max_files: usize,
    /// Larger files are skipped: they are generated code, data or bundles
    /// more often than code someone calls into.
    pub max_file_bytes: u64,
    /// Bytes read in all; files that would go past it are skipped.
    pub max_total_bytes: u64,
    /// Directory entries looked at in all, which bounds the walk itself.
    pub max_entries: usize,
}

impl ScanLimits {
    /// Reading, parsing and extracting runs at about 3.6 MB/s on one core of
    /// a busy 2-core machine (2,000 files of `~/.cargo/registry`, 21.8 MB, in
    /// 6 s), so the byte cap bounds the scan to about 5 s.
    pub const DEFAULT: ScanLimits = ScanLimits {
        max_files: 2_000,
        max_file_bytes: 256 * 1024,
        max_total_bytes: 16 * 1024 * 1024,
        max_entries: 50_000,
    };
}

impl Default for ScanLimits {
    fn default() -> Self {
        ScanLimits::DEFAULT
    }
}

/// Directories never entered (besides hidden ones): build output,
/// dependencies and virtual environments, which are large and not the
/// user's code.
const SKIPPED_DIRS: &[&str] = &[
    "target",
    "node_modules",
    "build",
    "dist",
    "out",
    "venv",
    "__pycache__",
    "vendor",
    "third_party",
];

/// One file read by the scan.
#[derive(Debug)]
pub struct ScannedFile {
    /// Relative to the root, with `/` separators.
    pub path: String,
    pub lang: Lang,
    pub definitions: Vec<Definition>,
}

/// Walks `root` breadth-first (so that a deep dependency tree cannot crowd
/// out the top of the project), in name order, yielding the definitions of
/// each file with a known language. Hidden entries, [`SKIPPED_DIRS`] and
/// symbolic links are skipped. Blocking: run it on a blocking thread.
pub fn scan_workspace(root: &Path, limits: ScanLimits) -> WorkspaceScan {
    WorkspaceScan {
        limits,
        dirs: VecDeque::from([(root.to_path_buf(), String::new())]),
        files: VecDeque::new(),
        indexed: 0,
        bytes: 0,
        entries: 0,
    }
}

/// The iterator of [`scan_workspace`].
pub struct WorkspaceScan {
    limits: ScanLimits,
    /// Directories still to list, with their relative paths.
    dirs: VecDeque<(PathBuf, String)>,
    /// Files listed but not read yet.
    files: VecDeque<(PathBuf, String, Lang)>,
    indexed: usize,
    bytes: u64,
    entries: usize,
}

impl Iterator for WorkspaceScan {
    type Item = ScannedFile;

    fn next(&mut self) -> Option<ScannedFile> {
        while self.indexed < self.limits.max_files {
            if let Some((path, relative, lang)) = self.files.pop_front() {
                if let Some(file) = self.read(&path, relative, lang) {
                    self.indexed += 1;
                    return Some(file);
                }
                continue;
            }
            let (dir, relative) = self.dirs.pop_front()?;
            self.list(&dir, &relative);
        }
        None
    }
}

impl WorkspaceScan {
    /// Queues a directory's subdirectories and code files, in name order.
    fn list(&mut self, dir: &Path, relative: &str) {
        let Ok(read) = fs::read_dir(dir) else { return };
        let mut entries = Vec::new();
        for entry in read {
            if self.entries >= self.limits.max_entries {
                break;
            }
            self.entries += 1;
            let Ok(entry) = entry else { continue };
            let (Ok(name), Ok(file_type)) = (entry.file_name().into_string(), entry.file_type())
            else {
                continue;
            };
            if !name.starts_with('.') {
                entries.push((name, file_type, entry.path()));
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, file_type, path) in entries {
            let child =
                if relative.is_empty() { name.clone() } else { format!("{relative}/{name}") };
            if file_type.is_dir() && !SKIPPED_DIRS.contains(&name.as_str()) {
                self.dirs.push_back((path, child));
            } else if file_type.is_file()
                && let Some(lang) = Path::new(&name)
                    .extension()
                    .and_then(|it| it.to_str())
                    .and_then(Lang::from_extension)
            {
                self.files.push_back((path, child, lang));
            }
        }
    }

    /// Reads, parses and extracts one file, if it is within the limits.
    fn read(&mut self, path: &Path, relative: String, lang: Lang) -> Option<ScannedFile> {
        let len = fs::metadata(path).ok()?.len();
        if len > self.limits.max_file_bytes || self.bytes + len > self.limits.max_total_bytes {
            return None;
        }
        self.bytes += len;
        let definitions = read_definitions(path, lang, self.limits.max_file_bytes)?;
        Some(ScannedFile { path: relative, lang, definitions })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn names(index: &DefinitionIndex, name: &str) -> Vec<String> {
        let mut found: Vec<String> =
            index.lookup(name).map(|(path, it)| format!("{path}: {}", it.snippet)).collect();
        found.sort();
        found
    }

    fn update(index: &mut DefinitionIndex, path: &str, source: &str) {
        let tree = parse_fresh(Lang::Rust, source).expect("parses");
        index.update_file(path, Lang::Rust, source, &tree);
    }

    #[test]
    fn updates_replace_a_files_entries() {
        let mut index = DefinitionIndex::default();
        update(&mut index, "a.rs", "fn one() {}\nfn two() {}\n");
        update(&mut index, "b.rs", "fn one(x: u8) {}\n");
        assert_eq!(names(&index, "one"), ["a.rs: fn one() { ... }", "b.rs: fn one(x: u8) { ... }"]);
        update(&mut index, "a.rs", "fn three() {}\n");
        assert_eq!(names(&index, "one"), ["b.rs: fn one(x: u8) { ... }"]);
        assert!(names(&index, "two").is_empty());
        assert_eq!(names(&index, "three"), ["a.rs: fn three() { ... }"]);
        index.remove_file("b.rs");
        assert!(names(&index, "one").is_empty());
        assert_eq!((index.file_count(), index.definition_count()), (1, 1));
    }

    #[test]
    fn edits_are_extracted_when_another_file_asks() {
        let index = Mutex::new(DefinitionIndex::default());
        let mark = |source: &str| {
            let tree = parse_fresh(Lang::Rust, source).expect("parses");
            index.lock().mark_changed("a.rs", Lang::Rust, Rope::from_str(source), tree);
        };
        mark("fn first() {}\n");
        mark("fn second() {}\n");
        // The file's own completions do not extract it.
        refresh_pending(&index, "a.rs");
        assert!(names(&index.lock(), "second").is_empty());
        refresh_pending(&index, "b.rs");
        assert_eq!(names(&index.lock(), "second"), ["a.rs: fn second() { ... }"]);
        assert!(names(&index.lock(), "first").is_empty());
        // The scan does not replace what the editor has.
        let stale = ScannedFile { path: "a.rs".into(), lang: Lang::Rust, definitions: Vec::new() };
        assert!(!index.lock().add_scanned(stale));
        assert_eq!(index.lock().definitions("a.rs").map(<[_]>::len), Some(1));
    }

    #[test]
    fn closing_goes_back_to_the_disk() {
        let mut index = DefinitionIndex::default();
        let tree = parse_fresh(Lang::Rust, "fn unsaved() {}\n").expect("parses");
        index.mark_changed("a.rs", Lang::Rust, Rope::from_str("fn unsaved() {}\n"), tree);
        let token = index.close_file("a.rs");
        refresh_pending_unlocked(&mut index);
        assert!(names(&index, "unsaved").is_empty());
        let on_disk = definitions_of("fn saved() {}\n");
        index.reload("a.rs", token, Some(on_disk.clone()));
        assert_eq!(names(&index, "saved"), ["a.rs: fn saved() { ... }"]);
        index.reload("a.rs", token, None);
        assert!(names(&index, "saved").is_empty());
        // Reopened before the disk was read: the editor's text wins.
        let token = index.close_file("a.rs");
        update(&mut index, "a.rs", "fn reopened() {}\n");
        index.reload("a.rs", token, Some(on_disk));
        assert_eq!(names(&index, "reopened"), ["a.rs: fn reopened() { ... }"]);
    }

    fn definitions_of(source: &str) -> Vec<Definition> {
        let tree = parse_fresh(Lang::Rust, source).expect("parses");
        extract_definitions(Lang::Rust, source, &tree)
    }

    fn refresh_pending_unlocked(index: &mut DefinitionIndex) {
        for file in index.take_pending("") {
            let definitions = file.extract();
            index.finish_pending(file, definitions);
        }
    }

    #[test]
    fn an_older_extraction_never_replaces_a_newer_one() {
        let mut index = DefinitionIndex::default();
        let tree = parse_fresh(Lang::Rust, "fn old() {}\n").expect("parses");
        index.mark_changed("a.rs", Lang::Rust, Rope::from_str("fn old() {}\n"), tree);
        let taken = index.take_pending("");
        update(&mut index, "a.rs", "fn new() {}\n");
        for file in taken {
            let definitions = file.extract();
            index.finish_pending(file, definitions);
        }
        assert_eq!(names(&index, "new"), ["a.rs: fn new() { ... }"]);
        assert!(names(&index, "old").is_empty());
    }

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    fn scanned(root: &Path, limits: ScanLimits) -> Vec<String> {
        scan_workspace(root, limits).map(|it| it.path).collect()
    }

    #[test]
    fn the_scan_skips_what_is_not_the_users_code() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "src/lib.rs", "pub fn lib() {}\n");
        write(root, "src/deep/mod.rs", "pub struct Deep;\n");
        write(root, "main.py", "def main():\n    pass\n");
        write(root, "README.md", "# not code\n");
        write(root, "target/debug/gen.rs", "fn generated() {}\n");
        write(root, "node_modules/x/index.js", "function x() {}\n");
        write(root, ".git/hooks/a.sh", "f() { :; }\n");
        write(root, ".venv/lib/site.py", "def site(): pass\n");
        write(root, "big.rs", &"// filler\n".repeat(30_000));
        write(root, "latin1.py", "");
        fs::write(root.join("latin1.py"), b"s = '\xe9'\n").expect("write");
        assert_eq!(
            scanned(root, ScanLimits::default()),
            ["main.py", "src/lib.rs", "src/deep/mod.rs"]
        );
        let two = ScanLimits { max_files: 2, ..ScanLimits::default() };
        assert_eq!(scanned(root, two), ["main.py", "src/lib.rs"]);
        let small = ScanLimits { max_total_bytes: 30, ..ScanLimits::default() };
        assert_eq!(scanned(root, small), ["main.py"]);
        let mut index = DefinitionIndex::default();
        for file in scan_workspace(root, ScanLimits::default()) {
            index.add_scanned(file);
        }
        assert_eq!(names(&index, "Deep"), ["src/deep/mod.rs: pub struct Deep;"]);
    }

    #[test]
    fn scanning_this_crate_is_quick() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let started = Instant::now();
        let files: Vec<ScannedFile> = scan_workspace(root, ScanLimits::default()).collect();
        let elapsed = started.elapsed();
        let bytes: u64 = files
            .iter()
            .filter_map(|it| fs::metadata(root.join(&it.path)).ok())
            .map(|it| it.len())
            .sum();
        let definitions: usize = files.iter().map(|it| it.definitions.len()).sum();
        eprintln!(
            "scanned {} files ({} KiB, {definitions} definitions) in {elapsed:?}",
            files.len(),
            bytes / 1024
        );
        assert!(files.iter().any(|it| it.path == "src/workspace.rs"));
        assert!(elapsed.as_secs() < 20, "{elapsed:?}");
    }
}
