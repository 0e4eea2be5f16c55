//! Shared pieces of Hearth's benchmarks: a realistic Rust corpus and a
//! simulated editing session that produces the edits an editor would send.
//!
//! Everything here is deterministic: the same seed and the same starting text
//! give the same edits, so two runs (or two machines) measure the same work.
//! Positions are byte offsets into the document's UTF-8 text, the unit
//! `hearth::documents::Document::edit` takes, and always fall on character
//! boundaries.
//!
//! The bench programs that measure the real server share two modules:
//! [`server`] (their numbers on the command line, the `hearth` binary, the
//! default model) and [`report`] (latency distributions and the machine's
//! description).

pub mod report;
pub mod server;

use std::ops::Range;

use ropey::Rope;

/// The items of one repetition of the corpus: about 65 lines of ordinary Rust
/// with a struct, an impl, an enum, a function with a `match`, a test module
/// and two statics, indented to sit inside a module.
///
/// `@N` is replaced by the repetition's number so every name is unique, as in
/// a real file. The non-ASCII text in comments and strings makes byte columns
/// differ from character columns, which incremental parsing must get right.
const ITEMS_TEMPLATE: &str = r#"    use std::collections::HashMap;

    /// Settings for one pool; names may hold any text: «Grüße», 東京.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Pool@N {
        pub name: String,
        pub workers: usize,
        pub timeout_ms: u64,
        pub tags: Vec<&'static str>,
    }

    impl Pool@N {
        pub fn new(name: &str) -> Self {
            let workers = (@N % 8) + 1;
            Self { name: name.to_owned(), workers, timeout_ms: 250, tags: vec!["café", "naïve"] }
        }

        /// The share of the work each worker gets, in percent.
        pub fn share(&self) -> f64 {
            if self.workers == 0 { 0.0 } else { 100.0 / self.workers as f64 }
        }
    }

    pub enum Event@N {
        Started { id: u32 },
        Finished { id: u32, elapsed_ms: u64 },
        Failed(String),
    }

    pub fn summarise_@N(events: &[Event@N]) -> HashMap<&'static str, usize> {
        let mut counts = HashMap::new();
        for event in events {
            let key = match event {
                Event@N::Started { .. } => "started",
                Event@N::Finished { elapsed_ms, .. } if *elapsed_ms > 1_000 => "slow",
                Event@N::Finished { .. } => "finished",
                Event@N::Failed(reason) => {
                    eprintln!("échec {}: {reason}", @N);
                    "failed"
                }
            };
            *counts.entry(key).or_insert(0) += 1;
        }
        counts
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn shares_work_evenly() {
            let pool = Pool@N::new("pool-@N ✓");
            assert!(pool.share() > 0.0);
        }
    }

    pub const LIMITS_@N: [u16; 4] = [1, 2, 4, 8];
    pub static GREETING_@N: &str = "¡Hola, señor! 😀";
"#;

/// How the corpus arranges its items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Each repetition is a `pub mod`, so the file's root has a few hundred
    /// children, like a large hand-written file.
    Modules,
    /// Every item sits at the top level, so the root has thousands of
    /// children, like generated code (bindings, tables). Tree-sitter's
    /// incremental reparse costs grow with the number of the root's children,
    /// which makes this the slow case.
    Flat,
}

/// Items the simulated user types, one character at a time.
///
/// Each starts with a newline so that, typed at the start of a blank line, it
/// ends up as a new item between two blank lines. They avoid `'` (lifetimes
/// and char literals) because editors do not auto-close it in Rust and a lone
/// quote would make the typing model's bracket pairing ambiguous.
const TYPED_ITEMS: &[&str] = &[
    "\n/// Counts the words in `text`, splitting «naïvely» on whitespace.\n\
     pub fn typed_@N(text: &str) -> usize {\n    \
         let words = text.split_whitespace().count();\n    \
         if words > @N {\n        \
             println!(\"grand: {words} mots — ok\");\n    \
         }\n    \
         words\n\
     }\n",
    "\n#[derive(Debug, Default)]\n\
     pub struct Typed@N {\n    \
         pub count: usize,\n    \
         pub label: String,\n    \
         pub weights: Vec<f32>,\n\
     }\n",
    "\nimpl Typed@N {\n    \
         pub fn heaviest(&self) -> Option<f32> {\n        \
             self.weights.iter().copied().fold(None, |best, w| match best {\n            \
                 Some(b) if b >= w => Some(b),\n            \
                 _ => Some(w),\n        \
             })\n    \
         }\n\
     }\n",
];

/// Items the simulated user pastes in one piece.
const PASTED_ITEMS: &[&str] = &[
    "\n/// Pasted helper: clamps `value` into `[lo, hi]`.\n\
     pub fn pasted_clamp_@N(value: i64, lo: i64, hi: i64) -> i64 {\n    \
         value.max(lo).min(hi)\n\
     }\n",
    "\npub struct Pasted@N<T> {\n    \
         items: Vec<T>,\n    \
         cursor: usize,\n\
     }\n\
     impl<T: Clone> Pasted@N<T> {\n    \
         pub fn next(&mut self) -> Option<T> {\n        \
             let item = self.items.get(self.cursor).cloned();\n        \
             self.cursor += 1;\n        \
             item\n    \
         }\n\
     }\n",
    "\n// Übersetzung: «Dateien» — ファイル.\n\
     pub const PASTED_NAMES_@N: &[&str] = &[\"alpha\", \"βeta\", \"gamma\"];\n",
];

/// Builds a Rust document of at least `min_bytes` bytes by repeating the
/// items template with fresh names, arranged as `layout` says.
pub fn rust_corpus(min_bytes: usize, layout: Layout) -> String {
    let mut text = String::with_capacity(min_bytes + ITEMS_TEMPLATE.len() * 2);
    let mut n = 0usize;
    while text.len() < min_bytes {
        let items = ITEMS_TEMPLATE.replace("@N", &n.to_string());
        match layout {
            Layout::Modules => {
                text.push_str(&format!("/// Worker pools, part {n}.\npub mod pools_{n} {{\n"));
                text.push_str(&items);
                text.push_str("}\n\n");
            }
            Layout::Flat => {
                text.push_str(&items);
                text.push('\n');
            }
        }
        n += 1;
    }
    text
}

/// A xorshift64* generator: tiny, fast and reproducible across platforms,
/// which is all a benchmark's edit stream needs.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        // Xorshift never leaves zero, so a zero seed is replaced.
        XorShift(if seed == 0 { 0x9E37_79B9_7F4A_7C15 } else { seed })
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound`; the modulo bias is irrelevant at these sizes.
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }
}

/// What kind of edit an [`Edit`] models, for reporting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EditKind {
    /// One typed character (two when the editor auto-closes a bracket).
    Insert,
    /// One backspace (removing an empty auto-closed pair as a whole).
    Backspace,
    /// A whole item pasted at a random place.
    Paste,
    /// A whole item cut from a random place.
    Cut,
}

/// One change as a `didChange` would carry it: replace `range` with `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub kind: EditKind,
    pub range: Range<usize>,
    pub text: String,
}

/// What one typed character of the current item did, so a backspace can
/// undo exactly that.
#[derive(Clone, Copy, Debug)]
enum Typed {
    /// The character was inserted as is.
    Plain(char),
    /// An opening bracket or quote was inserted together with this closer.
    Pair(char),
    /// The character was already there (an auto-closed closer); the cursor
    /// only stepped over it.
    StepOver(char),
}

/// A simulated user typing Rust into a document.
///
/// The mix is 70% single-character inserts at a cursor that advances as it
/// types, 20% backspaces and 10% multi-line pastes or cuts of whole items at
/// random places elsewhere in the file. The user types complete items
/// character by character; like VS Code's default settings, brackets and
/// double quotes are auto-closed and typing a closer steps over the one
/// already there, so brackets stay balanced (outside the string being typed),
/// as in a real session.
/// When an item is finished the cursor jumps to a random blank line and the
/// next item begins. Backspaces undo the last typed character and the user
/// then types it again; a backspace with nothing typed yet types instead.
pub struct Typist {
    rng: XorShift,
    /// Where the next character goes.
    cursor: usize,
    /// Where the item being typed starts; pastes and cuts keep clear of
    /// `item_start..=cursor + closers.len()`.
    item_start: usize,
    script: Vec<char>,
    /// How much of `script` has been typed; always equals `history.len()`.
    typed: usize,
    history: Vec<Typed>,
    /// Auto-inserted closers waiting right after the cursor, innermost last.
    closers: Vec<char>,
    items_started: usize,
    items_pasted: usize,
}

impl Typist {
    /// A typist with nothing typed yet; the first insert picks a place.
    pub fn new(seed: u64) -> Typist {
        Typist {
            rng: XorShift::new(seed),
            cursor: 0,
            item_start: 0,
            script: Vec::new(),
            typed: 0,
            history: Vec::new(),
            closers: Vec::new(),
            items_started: 0,
            items_pasted: 0,
        }
    }

    /// The next edit to apply to `text`. The caller must apply it before
    /// asking again, since the typist tracks the cursor through it.
    pub fn next_edit(&mut self, text: &Rope) -> Edit {
        let roll = self.rng.below(100);
        if roll < 70 {
            self.insert(text)
        } else if roll < 90 {
            self.backspace(text)
        } else {
            self.paste_or_cut(text)
        }
    }

    fn insert(&mut self, text: &Rope) -> Edit {
        loop {
            if self.typed == self.script.len() {
                self.start_item(text);
            }
            let c = self.script[self.typed];
            self.typed += 1;
            if self.closers.last() == Some(&c) {
                // The closer is already there: step over it, as editors do.
                self.closers.pop();
                self.cursor += c.len_utf8();
                self.history.push(Typed::StepOver(c));
                continue;
            }
            let in_string = self.closers.last() == Some(&'"');
            let at = self.cursor;
            if let Some(closer) = closer_of(c).filter(|_| !in_string) {
                self.closers.push(closer);
                self.history.push(Typed::Pair(closer));
                self.cursor += c.len_utf8();
                return Edit {
                    kind: EditKind::Insert,
                    range: at..at,
                    text: format!("{c}{closer}"),
                };
            }
            self.history.push(Typed::Plain(c));
            self.cursor += c.len_utf8();
            return Edit { kind: EditKind::Insert, range: at..at, text: c.to_string() };
        }
    }

    fn backspace(&mut self, text: &Rope) -> Edit {
        loop {
            let Some(last) = self.history.pop() else {
                // Nothing typed since the cursor moved here. Backspacing into
                // the item above could eat its closing brace and leave the
                // rest of the file unbalanced, which a real session would not,
                // so the user types first.
                return self.insert(text);
            };
            self.typed -= 1;
            match last {
                Typed::StepOver(c) => {
                    // Undo the step and keep going to a character to delete.
                    self.cursor -= c.len_utf8();
                    self.closers.push(c);
                }
                Typed::Plain(c) => {
                    self.cursor -= c.len_utf8();
                    let range = self.cursor..self.cursor + c.len_utf8();
                    return Edit { kind: EditKind::Backspace, range, text: String::new() };
                }
                Typed::Pair(closer) => {
                    // Backspace in an empty pair removes both halves.
                    self.closers.pop();
                    let open = self.script[self.typed];
                    self.cursor -= open.len_utf8();
                    let range = self.cursor..self.cursor + open.len_utf8() + closer.len_utf8();
                    return Edit { kind: EditKind::Backspace, range, text: String::new() };
                }
            }
        }
    }

    fn paste_or_cut(&mut self, text: &Rope) -> Edit {
        let busy = self.item_start..=self.cursor + self.closers.len();
        let paste = self.rng.below(2) == 0;
        // Random places may land in the item being typed, or (for a cut) not
        // start a whole item; try a few others.
        for _ in 0..64 {
            let Some(start) = self.random_blank_line(text) else { continue };
            if paste {
                if busy.contains(&start) {
                    continue;
                }
                let n = self.items_pasted;
                self.items_pasted += 1;
                let item = PASTED_ITEMS[n % PASTED_ITEMS.len()].replace("@N", &n.to_string());
                if start < self.item_start {
                    self.item_start += item.len();
                    self.cursor += item.len();
                }
                return Edit { kind: EditKind::Paste, range: start..start, text: item };
            }
            // Cut from this blank line up to the next, provided that is a
            // whole item or more: the brackets in between must balance.
            let Some(end) = next_blank_line(text, text.byte_to_line(start) + 1) else { continue };
            if !balanced(text.byte_slice(start..end).chars()) {
                continue;
            }
            if start <= *busy.end() && end > *busy.start() {
                continue;
            }
            if end <= self.item_start {
                self.item_start -= end - start;
                self.cursor -= end - start;
            }
            return Edit { kind: EditKind::Cut, range: start..end, text: String::new() };
        }
        // Nowhere free (never seen in practice): type instead.
        self.insert(text)
    }

    /// Moves the cursor to a random blank line and starts a new item there.
    fn start_item(&mut self, text: &Rope) {
        // A corpus without blank lines would be a broken benchmark.
        let at = (0..64)
            .find_map(|_| self.random_blank_line(text))
            .expect("the document has blank lines to type at");
        let n = self.items_started;
        self.items_started += 1;
        self.script =
            TYPED_ITEMS[n % TYPED_ITEMS.len()].replace("@N", &n.to_string()).chars().collect();
        self.typed = 0;
        self.history.clear();
        self.closers.clear();
        self.cursor = at;
        self.item_start = at;
    }

    /// The byte offset of a blank line at or shortly after a random line.
    fn random_blank_line(&mut self, text: &Rope) -> Option<usize> {
        let line = self.rng.below(text.len_lines());
        next_blank_line(text, line)
    }
}

/// The byte offset of the first blank line at or after `line`, looking a
/// bounded distance ahead.
fn next_blank_line(text: &Rope, line: usize) -> Option<usize> {
    (line..text.len_lines().min(line + 400))
        .find(|&i| {
            let it = text.line(i);
            it.len_bytes() == 1 && it.char(0) == '\n'
        })
        .map(|i| text.line_to_byte(i))
}

/// Whether every bracket in `chars` is closed by the matching one.
///
/// Brackets inside strings and comments count too; the corpus and the typed
/// and pasted items keep those balanced, so the check stays simple.
fn balanced(chars: impl Iterator<Item = char>) -> bool {
    let mut open = Vec::new();
    for c in chars {
        if let Some(closer) = closer_of(c).filter(|_| c != '"') {
            open.push(closer);
        } else if matches!(c, ')' | ']' | '}') && open.pop() != Some(c) {
            return false;
        }
    }
    open.is_empty()
}

/// The closer an editor auto-inserts after `c`, if any.
fn closer_of(c: char) -> Option<char> {
    match c {
        '(' => Some(')'),
        '[' => Some(']'),
        '{' => Some('}'),
        '"' => Some('"'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_reaches_the_requested_size() {
        for layout in [Layout::Modules, Layout::Flat] {
            let text = rust_corpus(100_000, layout);
            assert!(text.len() >= 100_000);
            assert!(!text.is_ascii());
            assert!(balanced(text.chars()));
        }
    }

    #[test]
    fn edits_stay_on_char_boundaries_and_mix_as_promised() {
        let mut text = rust_corpus(50_000, Layout::Modules);
        let mut rope = Rope::from_str(&text);
        let mut typist = Typist::new(7);
        let mut kinds = [0usize; 4];
        for _ in 0..5_000 {
            let edit = typist.next_edit(&rope);
            assert!(
                text.is_char_boundary(edit.range.start) && text.is_char_boundary(edit.range.end)
            );
            text.replace_range(edit.range.clone(), &edit.text);
            let start = rope.byte_to_char(edit.range.start);
            rope.remove(start..rope.byte_to_char(edit.range.end));
            rope.insert(start, &edit.text);
            kinds[edit.kind as usize] += 1;
        }
        assert_eq!(rope.to_string(), text);
        let [insert, backspace, paste, cut] = kinds;
        assert!((3_300..3_700).contains(&insert), "{kinds:?}");
        assert!((800..1_200).contains(&backspace), "{kinds:?}");
        assert!(paste + cut > 350 && paste > 100 && cut > 100, "{kinds:?}");
    }
}
