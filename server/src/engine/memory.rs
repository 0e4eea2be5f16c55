//! Whether a context of the configured size fits in memory, asked before
//! llama.cpp allocates it.
//!
//! llama.cpp allocates the KV cache in one piece and clears it, touching
//! every page. Where the memory is not there, Linux does not fail the
//! allocation: it lets it succeed and then kills the process (or, under a
//! cgroup limit, the OOM killer picks it) while the cache is cleared. The
//! editor then sees its language server vanish with no message. So the cache
//! is sized from the model's shape first and compared with what this process
//! may still use: `MemAvailable`, the cgroup's limit (v2 or v1) and the
//! address-space limit (`ulimit -v`), all read from `/proc` and `/sys`.
//! When it does not fit, loading stops with an error that names the largest
//! context that does.

use std::path::{Path, PathBuf};

/// Bytes a context needs beyond its KV cache and logits: llama.cpp's other
/// compute buffers (about 1 KB a token) and room to spare, so the editor is
/// not left without memory.
const CONTEXT_MARGIN_BYTES: u64 = 128 * 1024 * 1024;

/// The smallest context worth suggesting (the `model.contextSize` minimum).
const MIN_CONTEXT: u32 = 256;

/// The figures of a model and its settings that size a context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContextShape {
    pub layers: u64,
    /// Key/value heads (fewer than query heads with grouped-query attention).
    pub kv_heads: u64,
    pub head_dim: u64,
    /// Tokens in the vocabulary: a batch's logits are one number per token.
    pub vocab: u64,
    /// Tokens per batch (`model.batchSize`).
    pub batch: u64,
}

impl ContextShape {
    /// The KV cache's bytes per token: a key and a value vector per layer
    /// and KV head, at two bytes a number (llama.cpp's default f16 cache).
    pub fn bytes_per_token(&self) -> u64 {
        self.layers * 2 * self.kv_heads * self.head_dim * 2
    }

    /// What a `context`-token context needs in all: its KV cache, the
    /// compute buffer for a batch's logits (four bytes per vocabulary entry
    /// and token: 297 MiB for Qwen's 151,936 tokens at 512 a batch), and
    /// the margin.
    pub fn context_bytes(&self, context: u32) -> u64 {
        self.bytes_per_token() * u64::from(context)
            + self.vocab * self.batch * 4
            + CONTEXT_MARGIN_BYTES
    }

    /// The context to suggest when `available` bytes were not enough: the
    /// largest power of two, at least [`MIN_CONTEXT`], that fits in three
    /// quarters of them, since what is available moves (other programs,
    /// and this one's own threads reserving memory) before the next try;
    /// `None` when not even the smallest fits.
    pub fn suggested_context(&self, available: u64) -> Option<u32> {
        let room = available / 4 * 3;
        let mut context = MIN_CONTEXT;
        if self.context_bytes(context) > room {
            return None;
        }
        while context < (1 << 30) && self.context_bytes(context * 2) <= room {
            context *= 2;
        }
        Some(context)
    }
}

/// Bytes this process may still allocate, as the tightest of the limits
/// that apply; `None` where none can be read (then nothing is refused).
pub fn available_bytes() -> Option<u64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let meminfo = read("/proc/meminfo").and_then(|it| meminfo_available(&it));
    let cgroup =
        read("/proc/self/cgroup").and_then(|it| cgroup_headroom(&it, Path::new("/sys/fs/cgroup")));
    let address_space = match (read("/proc/self/limits"), read("/proc/self/status")) {
        (Some(limits), Some(status)) => address_space_headroom(&limits, &status),
        _ => None,
    };
    [meminfo, cgroup, address_space].into_iter().flatten().min()
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn meminfo_available(meminfo: &str) -> Option<u64> {
    kib_field(meminfo, "MemAvailable:")
}

/// A `Key:   1234 kB` field, in bytes.
fn kib_field(text: &str, key: &str) -> Option<u64> {
    let line = text.lines().find(|it| it.starts_with(key))?;
    let kib: u64 = line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// The room left under `ulimit -v`: the limit from `/proc/self/limits`
/// less the address space in use (`VmSize`), since the limit counts mapped,
/// not touched, memory.
fn address_space_headroom(limits: &str, status: &str) -> Option<u64> {
    let line = limits.lines().find(|it| it.starts_with("Max address space"))?;
    let soft = line["Max address space".len()..].split_whitespace().next()?;
    let limit: u64 = soft.parse().ok()?; // "unlimited" does not parse.
    let used = kib_field(status, "VmSize:")?;
    Some(limit.saturating_sub(used))
}

/// The room left under the memory limit of this process's cgroup (v2, else
/// v1), with `root` the cgroup file system's mount point.
fn cgroup_headroom(proc_cgroup: &str, root: &Path) -> Option<u64> {
    let number =
        |path: PathBuf| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let relative = path.trim_start_matches('/');
        let (dir, limit_file, usage_file) = if controllers.is_empty() {
            (root.join(relative), "memory.max", "memory.current")
        } else if controllers.split(',').any(|it| it == "memory") {
            (root.join("memory").join(relative), "memory.limit_in_bytes", "memory.usage_in_bytes")
        } else {
            continue;
        };
        // "max" (v2) does not parse; v1's "no limit" is a huge number.
        if let (Some(limit), Some(usage)) =
            (number(dir.join(limit_file)), number(dir.join(usage_file)))
            && limit < (1 << 60)
        {
            return Some(limit.saturating_sub(usage));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Qwen2.5-Coder-0.5B: 24 layers, 2 KV heads of 64, at `batchSize` 512.
    const QWEN_05B: ContextShape =
        ContextShape { layers: 24, kv_heads: 2, head_dim: 64, vocab: 151_936, batch: 512 };

    #[test]
    fn the_estimate_covers_what_llama_cpp_allocates() {
        // llama.cpp's log: a 48 MiB KV cache and a 309.5 MiB compute buffer
        // at 4,096 tokens; 192 MiB and 323.3 MiB at 16,384.
        assert_eq!(QWEN_05B.bytes_per_token() * 4_096, 48 << 20);
        let allocated = |kv: u64, compute: f64| (kv << 20) + (compute * 1048576.0) as u64;
        for (context, kv, compute) in [(4_096, 48, 309.52), (16_384, 192, 323.27)] {
            let estimate = QWEN_05B.context_bytes(context);
            assert!(estimate > allocated(kv, compute), "{context}: {estimate}");
            assert!(estimate < allocated(kv, compute) + (160 << 20), "{context}: {estimate}");
        }
    }

    #[test]
    fn suggests_the_largest_power_of_two_that_fits_with_room_to_spare() {
        let fits = |context| QWEN_05B.context_bytes(context) / 3 * 4 + 4;
        assert_eq!(QWEN_05B.suggested_context(fits(8_192)), Some(8_192));
        assert_eq!(QWEN_05B.suggested_context(fits(8_192) - 8), Some(4_096));
        assert_eq!(QWEN_05B.suggested_context(fits(256) - 8), None);
    }

    #[test]
    fn reads_the_limits() {
        let meminfo = "MemTotal:       24684084 kB\nMemAvailable:   21387852 kB\n";
        assert_eq!(meminfo_available(meminfo), Some(21_387_852 * 1024));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max address space         2000000000           unlimited            bytes\n";
        let status = "Name:\thearth\nVmSize:\t  1000000 kB\n";
        assert_eq!(address_space_headroom(limits, status), Some(2_000_000_000 - 1_024_000_000));
        let unlimited = limits.replace("2000000000", "unlimited");
        assert_eq!(address_space_headroom(&unlimited, status), None);
    }

    #[test]
    fn reads_a_cgroup_v2_limit() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("editor.slice");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("memory.max"), "1000\n").unwrap();
        std::fs::write(dir.join("memory.current"), "400\n").unwrap();
        assert_eq!(cgroup_headroom("0::/editor.slice\n", root.path()), Some(600));
        std::fs::write(dir.join("memory.max"), "max\n").unwrap();
        assert_eq!(cgroup_headroom("0::/editor.slice\n", root.path()), None);
        assert_eq!(cgroup_headroom("4:cpu:/x\n", root.path()), None);
    }
}
