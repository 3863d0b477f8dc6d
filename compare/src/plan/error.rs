//! Errors in the designs and scenarios files, each naming the file and the line.

use std::fmt;

/// A designs or scenarios file that cannot be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// The file (a path, or `built-in designs.toml`).
    pub file: String,
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// What is wrong, in words.
    pub message: String,
}

impl PlanError {
    /// An error at byte `offset` of `text` (the file's contents).
    pub fn at(file: &str, text: &str, offset: Option<usize>, message: impl Into<String>) -> Self {
        PlanError {
            file: file.to_string(),
            line: offset.map(|o| line_of(text, o)),
            message: message.into(),
        }
    }

    /// Turns a TOML syntax or type error into one that names the line.
    pub fn from_toml(file: &str, text: &str, e: &toml::de::Error) -> Self {
        PlanError::at(
            file,
            text,
            e.span().map(|s| s.start),
            e.message().trim().to_string(),
        )
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for PlanError {}

/// The 1-based line that byte `offset` of `text` is on.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines() {
        let text = "a\nbb\nccc";
        assert_eq!(line_of(text, 0), 1);
        assert_eq!(line_of(text, 2), 2);
        assert_eq!(line_of(text, 6), 3);
        assert_eq!(line_of(text, 999), 3);
    }
}
