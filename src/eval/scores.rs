//! Score files: openpalm's CSV and bob.bio's 4-column format.
//!
//! # openpalm CSV
//!
//! ```text
//! # openpalm score file: distance is lower-is-more-similar (accept if distance <= threshold)
//! probe,reference,mated,distance
//! s001/3.png,s001/1.png,1,0.3125
//! s001/3.png,s002/1.png,0,0.46875
//! ```
//!
//! - Lines starting with `#` are comments and may appear anywhere; blank lines are skipped.
//! - The first other line must be the header `probe,reference,mated,distance`.
//! - `mated` is `1`/`0` (also `true`/`false` when reading).
//! - `distance` is a finite decimal number, written in Rust's shortest round-trip form, so that
//!   reading back gives the identical `f64`.
//! - Ids are quoted as in RFC 4180 when they contain `,` or `"`, start with `#`, or have
//!   leading/trailing spaces (`"a,b"`, `"say ""hi"""`). Ids that are empty or contain a line
//!   break or another control character are rejected ([`ScoreFileIssue::IdNotRepresentable`]).
//!
//! # bob.bio 4-column format
//!
//! `claimed_id real_id test_label score`, whitespace-separated, one comparison per line, as
//! read by `bob.bio.base`/`bob.measure`. **bob's score is higher = more similar**, so openpalm
//! writes **score = −distance** and reads **distance = −score**: negation is exact in floating
//! point (the round trip is lossless), monotone, and works for any distance range (a `1 − d`
//! mapping would only suit distances in [0, 1]). EER and DET are unchanged by the mapping.
//!
//! bob decides "mated" by `claimed_id == real_id`; openpalm records carry sample ids and a mated
//! flag, not subject ids, so the writer emits `claimed_id` = reference, `test_label` = probe and
//! `real_id` = reference for mated rows, probe for non-mated rows. Reading maps back
//! `probe` = test_label, `reference` = claimed_id, `mated` = (claimed_id == real_id). Ids must
//! not contain whitespace.

use std::io::{BufRead, Read, Write};

use super::EvalError;

/// The comment line written before the CSV header.
pub const CSV_COMMENT: &str =
    "# openpalm score file: distance is lower-is-more-similar (accept if distance <= threshold)";

/// The CSV header.
pub const CSV_HEADER: &str = "probe,reference,mated,distance";

/// One comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRecord {
    /// Probe sample id.
    pub probe: String,
    /// Reference sample id.
    pub reference: String,
    /// Whether probe and reference come from the same palm.
    pub mated: bool,
    /// The comparison distance (lower = more similar).
    pub distance: f64,
}

impl ScoreRecord {
    /// Convenience constructor.
    pub fn new(
        probe: impl Into<String>,
        reference: impl Into<String>,
        mated: bool,
        distance: f64,
    ) -> Self {
        ScoreRecord {
            probe: probe.into(),
            reference: reference.into(),
            mated,
            distance,
        }
    }
}

/// Score file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreFormat {
    /// openpalm's CSV.
    Csv,
    /// bob.bio's 4-column text format.
    Bob4,
}

/// Bounds on what a reader accepts from an untrusted file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreReadLimits {
    /// Longest accepted line, in bytes, without the line break. Default 4096.
    pub max_line_bytes: usize,
    /// Most records read. Default 100 000 000.
    pub max_records: usize,
}

impl Default for ScoreReadLimits {
    fn default() -> Self {
        ScoreReadLimits {
            max_line_bytes: 4096,
            max_records: 100_000_000,
        }
    }
}

/// What was wrong on a line of a score file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ScoreFileIssue {
    /// The line is longer than the limit.
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The limit, bytes.
        limit: usize,
    },
    /// More records than the limit.
    #[error("more than {limit} records")]
    TooManyRecords {
        /// The limit.
        limit: usize,
    },
    /// The line is not UTF-8.
    #[error("not valid UTF-8")]
    NotUtf8,
    /// The file has no header line.
    #[error("no header line `{CSV_HEADER}` before the end of the file")]
    MissingHeader,
    /// The first non-comment line is not the header.
    #[error("expected header `{CSV_HEADER}`, found `{found}`")]
    BadHeader {
        /// The line found.
        found: String,
    },
    /// Wrong number of fields.
    #[error("expected {expected} fields, found {found}")]
    FieldCount {
        /// Fields expected.
        expected: usize,
        /// Fields found.
        found: usize,
    },
    /// A quoted field is not closed.
    #[error("unterminated quoted field")]
    UnterminatedQuote,
    /// A quote inside an unquoted field, or text after a closing quote.
    #[error("stray quote or text after a closing quote at byte {column}")]
    StrayQuote {
        /// Byte offset in the line.
        column: usize,
    },
    /// The `mated` field is not 0/1/true/false.
    #[error("mated must be 0, 1, true or false, found `{found}`")]
    BadMated {
        /// The text found.
        found: String,
    },
    /// A number did not parse.
    #[error("{field} is not a number: `{found}`")]
    BadNumber {
        /// The field (`distance`, `score`).
        field: &'static str,
        /// The text found.
        found: String,
    },
    /// A number is NaN or infinite.
    #[error("{field} is not finite: `{found}`")]
    NonFinite {
        /// The field.
        field: &'static str,
        /// The text found.
        found: String,
    },
    /// An id cannot be written in this format (or is empty when read).
    #[error("{field} id `{id}` cannot be represented: {reason}")]
    IdNotRepresentable {
        /// Which id (`probe`, `reference`).
        field: &'static str,
        /// The id (escaped with `{:?}`-style quoting when written in messages).
        id: String,
        /// Why.
        reason: &'static str,
    },
}

/// A score-file error: the 1-based line number and what was wrong. For writers, `line` is the
/// line that would have been written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("score file line {line}: {issue}")]
pub struct ScoreFileError {
    /// 1-based line number (0 when not tied to a line).
    pub line: u64,
    /// What was wrong.
    pub issue: ScoreFileIssue,
}

fn err(line: u64, issue: ScoreFileIssue) -> EvalError {
    EvalError::ScoreFile(ScoreFileError { line, issue })
}

// ---------------------------------------------------------------------------------------------
// Line reading with bounds.

struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    line: u64,
    limit: usize,
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R, limit: usize) -> Self {
        Lines {
            reader,
            buf: Vec::new(),
            line: 0,
            limit,
        }
    }

    /// Next content line (not blank, not a comment) as `(line number, text)`.
    fn next_content(&mut self) -> Result<Option<(u64, String)>, EvalError> {
        loop {
            self.buf.clear();
            let n = Read::take(&mut self.reader, (self.limit as u64).saturating_add(2))
                .read_until(b'\n', &mut self.buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            if self.buf.last() == Some(&b'\n') {
                self.buf.pop();
                if self.buf.last() == Some(&b'\r') {
                    self.buf.pop();
                }
            } else if n as u64 == (self.limit as u64).saturating_add(2) {
                return Err(err(
                    self.line,
                    ScoreFileIssue::LineTooLong { limit: self.limit },
                ));
            }
            if self.buf.len() > self.limit {
                return Err(err(
                    self.line,
                    ScoreFileIssue::LineTooLong { limit: self.limit },
                ));
            }
            let text = std::str::from_utf8(&self.buf)
                .map_err(|_| err(self.line, ScoreFileIssue::NotUtf8))?;
            if text.trim().is_empty() || text.starts_with('#') {
                continue;
            }
            return Ok(Some((self.line, text.to_owned())));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// CSV.

/// Splits one CSV line into fields (RFC 4180 quoting, no embedded line breaks).
fn split_csv(line: &str) -> Result<Vec<String>, ScoreFileIssue> {
    let mut fields = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    loop {
        let mut field = String::new();
        if bytes.get(i) == Some(&b'"') {
            i += 1;
            loop {
                let rest = &line[i..];
                match rest.find('"') {
                    None => return Err(ScoreFileIssue::UnterminatedQuote),
                    Some(q) => {
                        field.push_str(&rest[..q]);
                        i += q + 1;
                        if bytes.get(i) == Some(&b'"') {
                            field.push('"');
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
            }
            match bytes.get(i) {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(b',') => i += 1,
                Some(_) => return Err(ScoreFileIssue::StrayQuote { column: i }),
            }
        } else {
            let rest = &line[i..];
            let end = rest.find(',').unwrap_or(rest.len());
            let raw = &rest[..end];
            if let Some(q) = raw.find('"') {
                return Err(ScoreFileIssue::StrayQuote { column: i + q });
            }
            field.push_str(raw);
            i += end;
            if i >= bytes.len() {
                fields.push(field);
                return Ok(fields);
            }
            i += 1; // the comma
        }
        fields.push(field);
        if i == bytes.len() {
            fields.push(String::new()); // trailing comma: an empty last field
            return Ok(fields);
        }
    }
}

fn check_id(field: &'static str, id: &str) -> Result<(), ScoreFileIssue> {
    let bad = |reason| {
        Err(ScoreFileIssue::IdNotRepresentable {
            field,
            id: id.to_owned(),
            reason,
        })
    };
    if id.is_empty() {
        return bad("empty");
    }
    if id.chars().any(char::is_control) {
        return bad("contains a line break or another control character");
    }
    Ok(())
}

pub(crate) fn quote_csv(id: &str) -> String {
    let needs = id.contains([',', '"'])
        || id.starts_with('#')
        || id.starts_with(char::is_whitespace)
        || id.ends_with(char::is_whitespace);
    if needs {
        format!("\"{}\"", id.replace('"', "\"\""))
    } else {
        id.to_owned()
    }
}

fn parse_distance(field: &'static str, text: &str, negate: bool) -> Result<f64, ScoreFileIssue> {
    let t = text.trim();
    let v: f64 = t.parse().map_err(|_| ScoreFileIssue::BadNumber {
        field,
        found: t.to_owned(),
    })?;
    if !v.is_finite() {
        return Err(ScoreFileIssue::NonFinite {
            field,
            found: t.to_owned(),
        });
    }
    Ok(if negate { -v + 0.0 } else { v })
}

fn parse_csv_record(line: &str) -> Result<ScoreRecord, ScoreFileIssue> {
    let f = split_csv(line)?;
    if f.len() != 4 {
        return Err(ScoreFileIssue::FieldCount {
            expected: 4,
            found: f.len(),
        });
    }
    let [probe, reference, mated, distance] = <[String; 4]>::try_from(f).expect("4 fields");
    check_id("probe", &probe)?;
    check_id("reference", &reference)?;
    let mated = match mated.trim() {
        "1" | "true" => true,
        "0" | "false" => false,
        other => {
            return Err(ScoreFileIssue::BadMated {
                found: other.to_owned(),
            });
        }
    };
    let distance = parse_distance("distance", &distance, false)?;
    Ok(ScoreRecord {
        probe,
        reference,
        mated,
        distance,
    })
}

/// A written distance must be finite (neither format can represent NaN or infinity).
fn check_distance(line: u64, distance: f64) -> Result<(), EvalError> {
    if distance.is_finite() {
        Ok(())
    } else {
        Err(err(
            line,
            ScoreFileIssue::NonFinite {
                field: "distance",
                found: distance.to_string(),
            },
        ))
    }
}

/// Writes records as openpalm CSV (comment line, header, one line per record).
///
/// # Errors
/// [`ScoreFileIssue::IdNotRepresentable`] for an empty id or one with a control character,
/// [`ScoreFileIssue::NonFinite`] for a NaN/infinite distance, or an I/O error.
pub fn write_csv<W: Write>(mut w: W, records: &[ScoreRecord]) -> Result<(), EvalError> {
    writeln!(w, "{CSV_COMMENT}")?;
    writeln!(w, "{CSV_HEADER}")?;
    for (i, r) in records.iter().enumerate() {
        let line = i as u64 + 3;
        check_id("probe", &r.probe).map_err(|e| err(line, e))?;
        check_id("reference", &r.reference).map_err(|e| err(line, e))?;
        check_distance(line, r.distance)?;
        writeln!(
            w,
            "{},{},{},{}",
            quote_csv(&r.probe),
            quote_csv(&r.reference),
            u8::from(r.mated),
            r.distance
        )?;
    }
    w.flush()?;
    Ok(())
}

/// Reads an openpalm CSV score file.
///
/// # Errors
/// A [`ScoreFileError`] with the line number for any malformed line, or an I/O error.
pub fn read_csv<R: BufRead>(r: R, limits: &ScoreReadLimits) -> Result<Vec<ScoreRecord>, EvalError> {
    let mut lines = Lines::new(r, limits.max_line_bytes);
    match lines.next_content()? {
        None => Err(err(lines.line, ScoreFileIssue::MissingHeader)),
        Some((n, h)) if !is_csv_header(&h) => Err(err(n, ScoreFileIssue::BadHeader { found: h })),
        Some(_) => read_body(lines, limits, ScoreFormat::Csv),
    }
}

fn is_csv_header(line: &str) -> bool {
    split_csv(line).is_ok_and(|f| f.iter().map(|s| s.trim()).eq(CSV_HEADER.split(',')))
}

fn read_body<R: BufRead>(
    mut lines: Lines<R>,
    limits: &ScoreReadLimits,
    format: ScoreFormat,
) -> Result<Vec<ScoreRecord>, EvalError> {
    let mut out = Vec::new();
    while let Some((n, line)) = lines.next_content()? {
        if out.len() >= limits.max_records {
            return Err(err(
                n,
                ScoreFileIssue::TooManyRecords {
                    limit: limits.max_records,
                },
            ));
        }
        let rec = match format {
            ScoreFormat::Csv => parse_csv_record(&line),
            ScoreFormat::Bob4 => parse_bob_record(&line),
        };
        out.push(rec.map_err(|e| err(n, e))?);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// bob 4-column.

fn parse_bob_record(line: &str) -> Result<ScoreRecord, ScoreFileIssue> {
    let f: Vec<&str> = line.split_ascii_whitespace().collect();
    if f.len() != 4 {
        return Err(ScoreFileIssue::FieldCount {
            expected: 4,
            found: f.len(),
        });
    }
    let distance = parse_distance("score", f[3], true)?;
    Ok(ScoreRecord {
        probe: f[2].to_owned(),
        reference: f[0].to_owned(),
        mated: f[0] == f[1],
        distance,
    })
}

fn check_bob_id(field: &'static str, id: &str) -> Result<(), ScoreFileIssue> {
    check_id(field, id)?;
    if id.contains(char::is_whitespace) || id.starts_with('#') {
        return Err(ScoreFileIssue::IdNotRepresentable {
            field,
            id: id.to_owned(),
            reason: "contains whitespace or starts with '#' (bob's format is whitespace-separated)",
        });
    }
    Ok(())
}

/// Writes records in bob's 4-column format with score = −distance (see the module docs).
///
/// # Errors
/// [`ScoreFileIssue::IdNotRepresentable`] for ids with whitespace, and for a non-mated record
/// whose probe and reference ids are equal (bob would read it as mated);
/// [`ScoreFileIssue::NonFinite`]; or an I/O error.
pub fn write_bob4<W: Write>(mut w: W, records: &[ScoreRecord]) -> Result<(), EvalError> {
    for (i, r) in records.iter().enumerate() {
        let line = i as u64 + 1;
        check_bob_id("probe", &r.probe).map_err(|e| err(line, e))?;
        check_bob_id("reference", &r.reference).map_err(|e| err(line, e))?;
        check_distance(line, r.distance)?;
        if !r.mated && r.probe == r.reference {
            return Err(err(
                line,
                ScoreFileIssue::IdNotRepresentable {
                    field: "probe",
                    id: r.probe.clone(),
                    reason: "a non-mated record with equal probe and reference ids reads back as mated in bob's format",
                },
            ));
        }
        let real = if r.mated { &r.reference } else { &r.probe };
        writeln!(
            w,
            "{} {} {} {}",
            r.reference,
            real,
            r.probe,
            -r.distance + 0.0
        )?;
    }
    w.flush()?;
    Ok(())
}

/// Reads bob's 4-column format (distance = −score). Lines starting with `#` are skipped.
///
/// # Errors
/// A [`ScoreFileError`] with the line number, or an I/O error.
pub fn read_bob4<R: BufRead>(
    r: R,
    limits: &ScoreReadLimits,
) -> Result<Vec<ScoreRecord>, EvalError> {
    read_body(
        Lines::new(r, limits.max_line_bytes),
        limits,
        ScoreFormat::Bob4,
    )
}

/// Reads either format, telling them apart by the first content line: the CSV header means
/// CSV, anything else is read as bob's 4-column format. Returns the format found.
///
/// # Errors
/// As [`read_csv`] / [`read_bob4`]; an empty file is [`ScoreFileIssue::MissingHeader`].
pub fn read_any<R: BufRead>(
    r: R,
    limits: &ScoreReadLimits,
) -> Result<(ScoreFormat, Vec<ScoreRecord>), EvalError> {
    let mut lines = Lines::new(r, limits.max_line_bytes);
    let Some((n, first)) = lines.next_content()? else {
        return Err(err(lines.line, ScoreFileIssue::MissingHeader));
    };
    if is_csv_header(&first) {
        return Ok((
            ScoreFormat::Csv,
            read_body(lines, limits, ScoreFormat::Csv)?,
        ));
    }
    let mut out = vec![parse_bob_record(&first).map_err(|e| err(n, e))?];
    out.extend(read_body(lines, limits, ScoreFormat::Bob4)?);
    if out.len() > limits.max_records {
        return Err(err(
            n,
            ScoreFileIssue::TooManyRecords {
                limit: limits.max_records,
            },
        ));
    }
    Ok((ScoreFormat::Bob4, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(e: EvalError) -> (u64, ScoreFileIssue) {
        match e {
            EvalError::ScoreFile(ScoreFileError { line, issue }) => (line, issue),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn read(s: &str) -> Result<Vec<ScoreRecord>, EvalError> {
        read_csv(s.as_bytes(), &ScoreReadLimits::default())
    }

    #[test]
    fn csv_round_trip_with_awkward_ids() {
        let recs = vec![
            ScoreRecord::new("a,b", "say \"hi\"", true, 0.1),
            ScoreRecord::new("#hash", " lead", false, 1e-7),
            ScoreRecord::new(
                "plain id with spaces",
                "ü/ñ.png",
                false,
                0.30000000000000004,
            ),
        ];
        let mut buf = Vec::new();
        write_csv(&mut buf, &recs).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(text.starts_with(CSV_COMMENT));
        assert!(
            text.contains("\"a,b\",\"say \"\"hi\"\"\",1,0.1\n"),
            "{text}"
        );
        assert_eq!(read(&text).unwrap(), recs);
        assert_eq!(
            read_any(text.as_bytes(), &Default::default()).unwrap().0,
            ScoreFormat::Csv
        );
    }

    #[test]
    fn csv_reader_errors_name_the_line() {
        let h = format!("{CSV_COMMENT}\n{CSV_HEADER}\n");
        let cases: Vec<(String, u64, ScoreFileIssue)> = vec![
            (String::new(), 0, ScoreFileIssue::MissingHeader),
            (
                "# only a comment\n".into(),
                1,
                ScoreFileIssue::MissingHeader,
            ),
            (
                "a,b,c\n".into(),
                1,
                ScoreFileIssue::BadHeader {
                    found: "a,b,c".into(),
                },
            ),
            (
                format!("{h}p,r,1\n"),
                3,
                ScoreFileIssue::FieldCount {
                    expected: 4,
                    found: 3,
                },
            ),
            (
                format!("{h}p,r,1,0.1\n\np,r,2,0.1\n"),
                5,
                ScoreFileIssue::BadMated { found: "2".into() },
            ),
            (
                format!("{h}p,r,0,abc\n"),
                3,
                ScoreFileIssue::BadNumber {
                    field: "distance",
                    found: "abc".into(),
                },
            ),
            (
                format!("{h}p,r,0,NaN\n"),
                3,
                ScoreFileIssue::NonFinite {
                    field: "distance",
                    found: "NaN".into(),
                },
            ),
            (
                format!("{h}\"p,r,0,0.1\n"),
                3,
                ScoreFileIssue::UnterminatedQuote,
            ),
            (
                format!("{h}\"p\"x,r,0,0.1\n"),
                3,
                ScoreFileIssue::StrayQuote { column: 3 },
            ),
            (
                format!("{h}p\"x,r,0,0.1\n"),
                3,
                ScoreFileIssue::StrayQuote { column: 1 },
            ),
            (
                format!("{h},r,0,0.1\n"),
                3,
                ScoreFileIssue::IdNotRepresentable {
                    field: "probe",
                    id: String::new(),
                    reason: "empty",
                },
            ),
            (
                format!("{h}p,r,0,0.1,\n"),
                3,
                ScoreFileIssue::FieldCount {
                    expected: 4,
                    found: 5,
                },
            ),
        ];
        for (text, line, want) in cases {
            let got = issue(read(&text).unwrap_err());
            assert_eq!(got, (line, want), "input {text:?}");
        }
        let bad_utf8 = [CSV_HEADER.as_bytes(), b"\n\xff,r,0,0.1\n"].concat();
        assert_eq!(
            issue(read_csv(&bad_utf8[..], &Default::default()).unwrap_err()),
            (2, ScoreFileIssue::NotUtf8)
        );
    }

    #[test]
    fn limits_are_enforced() {
        let limits = ScoreReadLimits {
            max_line_bytes: 40,
            max_records: 2,
        };
        let long = format!("{CSV_HEADER}\n{},r,0,0.1\n", "x".repeat(100));
        assert_eq!(
            issue(read_csv(long.as_bytes(), &limits).unwrap_err()),
            (2, ScoreFileIssue::LineTooLong { limit: 40 })
        );
        // Exactly at the limit is fine, with or without a final newline.
        let at = format!("{CSV_HEADER}\n{},r,0,0.1", "x".repeat(40 - 8));
        assert_eq!(read_csv(at.as_bytes(), &limits).unwrap().len(), 1);
        let many = format!("{CSV_HEADER}\np,r,0,0.1\np,r,0,0.2\np,r,0,0.3\n");
        assert_eq!(
            issue(read_csv(many.as_bytes(), &limits).unwrap_err()),
            (4, ScoreFileIssue::TooManyRecords { limit: 2 })
        );
    }

    #[test]
    fn writer_rejects_unrepresentable_ids() {
        let e = write_csv(Vec::new(), &[ScoreRecord::new("a\nb", "r", true, 0.1)]).unwrap_err();
        assert!(matches!(
            issue(e),
            (3, ScoreFileIssue::IdNotRepresentable { .. })
        ));
        let e = write_csv(Vec::new(), &[ScoreRecord::new("a", "r", true, f64::NAN)]).unwrap_err();
        assert!(matches!(issue(e), (3, ScoreFileIssue::NonFinite { .. })));
        let e = write_bob4(Vec::new(), &[ScoreRecord::new("a b", "r", true, 0.1)]).unwrap_err();
        assert!(matches!(
            issue(e),
            (1, ScoreFileIssue::IdNotRepresentable { .. })
        ));
        let e = write_bob4(Vec::new(), &[ScoreRecord::new("x", "x", false, 0.1)]).unwrap_err();
        assert!(matches!(
            issue(e),
            (1, ScoreFileIssue::IdNotRepresentable { .. })
        ));
    }

    #[test]
    fn bob_round_trip_negates_scores() {
        let recs = vec![
            ScoreRecord::new("s1_3", "s1_1", true, 0.25),
            ScoreRecord::new("s1_3", "s2_1", false, 0.0),
            ScoreRecord::new("s2_2", "s1_1", false, 0.4375),
        ];
        let mut buf = Vec::new();
        write_bob4(&mut buf, &recs).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(
            text,
            "s1_1 s1_1 s1_3 -0.25\ns2_1 s1_3 s1_3 0\ns1_1 s2_2 s2_2 -0.4375\n"
        );
        assert_eq!(
            read_bob4(text.as_bytes(), &Default::default()).unwrap(),
            recs
        );
        let (fmt, back) = read_any(text.as_bytes(), &Default::default()).unwrap();
        assert_eq!((fmt, back), (ScoreFormat::Bob4, recs));
        assert_eq!(
            issue(read_bob4("a a b\n".as_bytes(), &Default::default()).unwrap_err()),
            (
                1,
                ScoreFileIssue::FieldCount {
                    expected: 4,
                    found: 3
                }
            )
        );
    }
}
