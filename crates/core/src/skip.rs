//! Why an input record was skipped, and counts of skips.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Why one record (line, row, file) was not turned into events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Not valid JSON.
    InvalidJson,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// Longer than the line limit.
    LineTooLong,
    /// No parseable timestamp.
    BadTimestamp,
    /// A required field is missing or has the wrong type.
    MissingField,
    /// A field is JSON null where ccusage drops the line (Claude Code parity).
    NullField,
    /// A field is present but empty where ccusage drops the line.
    EmptyField,
    /// `version` is not a semantic version (Claude Code parity).
    BadVersion,
    /// The compressed row could not be decompressed.
    BadCompression,
    /// A file or database could not be opened or read.
    Unreadable,
    /// The database was locked past the busy timeout.
    Locked,
}

impl SkipReason {
    /// A short human explanation.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::InvalidJson => "malformed JSON",
            SkipReason::InvalidUtf8 => "invalid UTF-8",
            SkipReason::LineTooLong => "line longer than the limit",
            SkipReason::BadTimestamp => "missing or unparseable timestamp",
            SkipReason::MissingField => "required field missing",
            SkipReason::NullField => "null in a field ccusage rejects",
            SkipReason::EmptyField => "empty id/model field",
            SkipReason::BadVersion => "version is not N.N.N",
            SkipReason::BadCompression => "zstd row failed to decompress",
            SkipReason::Unreadable => "unreadable file or database",
            SkipReason::Locked => "database locked (busy timeout)",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Counts of skipped records by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SkipCounts(pub BTreeMap<SkipReason, u64>);

impl SkipCounts {
    /// Count one skip.
    pub fn add(&mut self, reason: SkipReason) {
        *self.0.entry(reason).or_insert(0) += 1;
    }

    /// Add another set of counts.
    pub fn merge(&mut self, other: &SkipCounts) {
        for (r, n) in &other.0 {
            *self.0.entry(*r).or_insert(0) += n;
        }
    }

    /// Total skips.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}
