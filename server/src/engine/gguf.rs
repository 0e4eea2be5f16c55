//! Checks that a file is a plausible GGUF model before llama.cpp sees it.
//!
//! llama.cpp reports every load failure as a null pointer, so the reason
//! (missing file, wrong format, truncated download) is found here first and
//! put into words the user can act on.

use std::{
    fs::File,
    io::{self, Read},
    path::{Path, PathBuf},
};

/// Models that `scripts/fetch-model` installs, with their exact sizes, so a
/// truncated copy is recognised by name before it is loaded.
const KNOWN_MODELS: &[(&str, u64)] = &[
    ("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", 491_400_064),
    ("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", 1_117_320_768),
];

/// Why a model file cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModelFileError {
    #[error("no model file at {path}")]
    Missing { path: PathBuf },
    #[error("cannot read the model file {path}: {detail}")]
    Unreadable { path: PathBuf, detail: String },
    #[error("{path} is not a GGUF model file ({detail})")]
    NotGguf { path: PathBuf, detail: String },
    #[error("{path} is truncated or damaged: {actual} bytes instead of {expected}")]
    WrongSize { path: PathBuf, expected: u64, actual: u64 },
}

/// The header fields of a GGUF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GgufHeader {
    pub version: u32,
    pub tensor_count: u64,
    pub metadata_count: u64,
}

/// Opens `path` and checks its GGUF header and, for known models, its size.
pub fn check_model_file(path: &Path) -> Result<GgufHeader, ModelFileError> {
    let unreadable = |err: io::Error| ModelFileError::Unreadable {
        path: path.to_path_buf(),
        detail: err.to_string(),
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(ModelFileError::Missing { path: path.to_path_buf() });
        }
        Err(err) => return Err(unreadable(err)),
    };
    let meta = file.metadata().map_err(unreadable)?;
    if meta.is_dir() {
        return Err(ModelFileError::NotGguf {
            path: path.to_path_buf(),
            detail: "it is a directory".to_owned(),
        });
    }
    let mut head = Vec::with_capacity(24);
    file.by_ref().take(24).read_to_end(&mut head).map_err(unreadable)?;
    let header = parse_header(&head)
        .map_err(|detail| ModelFileError::NotGguf { path: path.to_path_buf(), detail })?;

    let name = path.file_name().and_then(|it| it.to_str()).unwrap_or_default();
    if let Some(&(_, expected)) = KNOWN_MODELS.iter().find(|(known, _)| *known == name)
        && meta.len() != expected
    {
        return Err(ModelFileError::WrongSize {
            path: path.to_path_buf(),
            expected,
            actual: meta.len(),
        });
    }
    Ok(header)
}

/// Parses the fixed 24-byte GGUF header: magic, version, tensor and metadata counts.
pub fn parse_header(bytes: &[u8]) -> Result<GgufHeader, String> {
    if bytes.len() < 24 {
        return Err(format!("only {} bytes, too short for a GGUF header", bytes.len()));
    }
    if &bytes[..4] != b"GGUF" {
        return Err("it does not start with the GGUF magic bytes".to_owned());
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    let version = u32_at(4);
    if !(2..=3).contains(&version) {
        return Err(format!("unsupported GGUF version {version}"));
    }
    let header = GgufHeader { version, tensor_count: u64_at(8), metadata_count: u64_at(16) };
    if header.tensor_count == 0 {
        return Err("it holds no tensors".to_owned());
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn header(version: u32, tensors: u64) -> Vec<u8> {
        let mut bytes = b"GGUF".to_vec();
        bytes.extend(version.to_le_bytes());
        bytes.extend(tensors.to_le_bytes());
        bytes.extend(7u64.to_le_bytes());
        bytes
    }

    #[test]
    fn parses_a_valid_header() {
        let parsed = parse_header(&header(3, 290)).unwrap();
        assert_eq!(parsed, GgufHeader { version: 3, tensor_count: 290, metadata_count: 7 });
    }

    #[test]
    fn explains_what_is_wrong() {
        assert!(parse_header(b"GGUF").unwrap_err().contains("too short"));
        assert!(parse_header(&[b'x'; 24]).unwrap_err().contains("magic"));
        assert!(parse_header(&header(9, 1)).unwrap_err().contains("version 9"));
        assert!(parse_header(&header(3, 0)).unwrap_err().contains("no tensors"));
    }

    #[test]
    fn recognises_missing_and_truncated_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.gguf");
        assert_eq!(check_model_file(&missing), Err(ModelFileError::Missing { path: missing }));

        let truncated = dir.path().join(KNOWN_MODELS[0].0);
        File::create(&truncated).unwrap().write_all(&header(3, 290)).unwrap();
        assert!(matches!(
            check_model_file(&truncated),
            Err(ModelFileError::WrongSize { expected: 491_400_064, actual: 24, .. })
        ));

        let text = dir.path().join("notes.gguf");
        std::fs::write(&text, "just some text, long enough to be read\n").unwrap();
        assert!(matches!(check_model_file(&text), Err(ModelFileError::NotGguf { .. })));
        assert!(matches!(check_model_file(dir.path()), Err(ModelFileError::NotGguf { .. })));
    }
}
