//! A TOML input file being read: its name and text, and byte offsets turned
//! into the file:line:column crossfire's errors name (the TOML twin of
//! `diag::Source`, which indexes YAML).

use crate::diag::{InputError, Location};
use std::path::{Path, PathBuf};
use toml::de::DeTable;
use toml::Spanned;

/// A TOML file and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TomlSource {
    /// The file as the user named it.
    pub file: PathBuf,
    /// Its text.
    pub text: String,
}

impl TomlSource {
    /// Reads a file within crossfire's input limits (`diag::read_text`: a
    /// regular file of at most `MAX_INPUT_BYTES`, UTF-8, no byte-order mark).
    pub fn read(file: &Path) -> Result<TomlSource, InputError> {
        Ok(TomlSource {
            file: file.to_path_buf(),
            text: crate::diag::read_text(file)?,
        })
    }

    /// Text that came from `file`.
    pub fn from_text(file: PathBuf, text: String) -> TomlSource {
        TomlSource { file, text }
    }

    /// The 1-based line and column of a byte offset (columns count characters).
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(&self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// The 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.position(offset).0
    }

    /// An error at a byte offset.
    pub fn error_at(&self, offset: usize, message: impl Into<String>) -> InputError {
        let (line, column) = self.position(offset);
        InputError::At {
            location: Location {
                file: self.file.clone(),
                line,
                column,
            },
            message: message.into(),
        }
    }

    /// Parses the text, keeping the place of every key and value; a syntax
    /// error is located.
    pub fn parse(&self) -> Result<Spanned<DeTable<'_>>, InputError> {
        DeTable::parse(&self.text).map_err(|e| {
            let message = format!("not valid TOML: {}", e.message().trim());
            match e.span() {
                Some(span) => self.error_at(span.start, message),
                None => InputError::file(&self.file, message),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_character_columns() {
        let s = TomlSource::from_text("t.toml".into(), "a = 1\nbé = 2\n".into());
        assert_eq!(s.position(0), (1, 1));
        assert_eq!(s.position(6), (2, 1));
        // `=` after a two-byte character is the fourth character.
        assert_eq!(s.position(10), (2, 4));
    }
}
