//! Image folders laid out as `DIR/<subject>/<sample>.<ext>`: scanning into subjects and samples.
//!
//! # Layout and rules
//!
//! - Every sub-directory of `DIR` is one **subject** (one palm); every file in it with an
//!   extension in [`IMAGE_EXTENSIONS`] (case-insensitive) is one **sample** of that subject.
//!   The extension only selects files: the decoder detects the real format from the content
//!   (some collections ship BMPs named `.jpg`).
//! - The sample id written to score files is `<subject>/<file name>` (the file name keeps its
//!   extension, so `a.png` and `a.bmp` stay distinct).
//! - Subjects and samples are sorted by name (byte order), so the scan — and everything computed
//!   from it — is deterministic.
//! - Entries that are not used are **not** silently dropped: they are returned as
//!   [`SkippedEntry`] with a [`SkipReason`] (hidden files, other extensions, nested folders,
//!   names that are not UTF-8 or hold control characters, subjects without any image).
//! - Symbolic links are followed (a subject folder may be a link to another folder).
//!
//! Files are only listed here, never opened: reading and decoding happen one image at a time
//! during extraction ([`super::experiment`]), so a failure to read one file is a
//! failure to acquire of that sample, not a scan error.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::LimitError;

pub use crate::sensor::IMAGE_EXTENSIONS;

/// Bounds on a scanned folder (untrusted input: a folder can hold anything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetLimits {
    /// Most subject folders. Default 100 000.
    pub max_subjects: u64,
    /// Most images in one subject folder. Default 10 000.
    pub max_samples_per_subject: u64,
    /// Most images in all. Default 1 000 000.
    pub max_images: u64,
    /// Most directory entries read in one folder (used or not). Default 1 000 000.
    pub max_entries_per_dir: u64,
}

impl Default for DatasetLimits {
    fn default() -> Self {
        DatasetLimits {
            max_subjects: 100_000,
            max_samples_per_subject: 10_000,
            max_images: 1_000_000,
            max_entries_per_dir: 1_000_000,
        }
    }
}

/// Why a folder could not be scanned.
///
/// **Whose fault:** the caller (a wrong path, a folder in another layout) or the environment
/// (permissions); [`DatasetError::Limit`] the folder's producer or limits set too low.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// The path is not a directory.
    #[error("{}: not a directory", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// A directory could not be listed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Images lie directly in the root: the layout is flat, not `DIR/<subject>/<sample>`.
    #[error(
        "{}: {images} image(s) directly in the folder; expected DIR/<subject>/<sample>.<ext> \
         (put each subject's images in its own sub-folder, e.g. a symbolic link)",
        path.display()
    )]
    FlatLayout {
        /// The root.
        path: PathBuf,
        /// Images found directly in it.
        images: u64,
    },
    /// No subject folder holds any image.
    #[error("{}: no subject folder holds an image ({skipped} entries skipped)", path.display())]
    NoImages {
        /// The root.
        path: PathBuf,
        /// Entries skipped while scanning.
        skipped: usize,
    },
    /// A count exceeded its [`DatasetLimits`] bound.
    #[error("{}: {limit}", path.display())]
    Limit {
        /// The folder being scanned.
        path: PathBuf,
        /// What was counted and the bound.
        limit: LimitError,
    },
}

/// Why a directory entry was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// The name starts with `.`.
    Hidden,
    /// The name is not valid UTF-8.
    NonUtf8Name,
    /// The name holds a control character (cannot be a score-file id).
    ControlCharacterInName,
    /// A file whose extension is not in [`IMAGE_EXTENSIONS`].
    NotAnImageExtension,
    /// A folder inside a subject folder (layouts are one level deep).
    NestedDirectory,
    /// A file directly in the root that is not an image (ignored).
    FileInRoot,
    /// Neither a file nor a directory (or a broken link).
    NotAFileOrDirectory,
    /// A subject folder without any image.
    EmptySubject,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SkipReason::Hidden => "hidden entry",
            SkipReason::NonUtf8Name => "name is not UTF-8",
            SkipReason::ControlCharacterInName => "name holds a control character",
            SkipReason::NotAnImageExtension => "extension is not png/bmp/jpg/jpeg/tif/tiff",
            SkipReason::NestedDirectory => "folder inside a subject folder",
            SkipReason::FileInRoot => "non-image file in the root folder",
            SkipReason::NotAFileOrDirectory => "not a regular file or folder (or a broken link)",
            SkipReason::EmptySubject => "subject folder holds no image",
        })
    }
}

/// An entry the scan did not use, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    /// The entry.
    pub path: PathBuf,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// One image of a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    /// `<subject>/<file name>`: the id used in score files.
    pub id: String,
    /// The file.
    pub path: PathBuf,
}

/// One subject (palm) and its samples, sorted by file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The folder name.
    pub name: String,
    /// The samples (never empty).
    pub samples: Vec<Sample>,
}

/// A scanned folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// The root folder.
    pub root: PathBuf,
    /// Subjects with at least one image, sorted by name.
    pub subjects: Vec<Subject>,
    /// Entries not used, in scan order (sorted by path).
    pub skipped: Vec<SkippedEntry>,
}

impl Dataset {
    /// Scans `root` (see the [module documentation](self) for the rules).
    ///
    /// # Errors
    /// [`DatasetError`]: not a directory, unreadable directory, a flat layout, no image at all,
    /// or a [`DatasetLimits`] bound exceeded.
    pub fn scan(root: impl AsRef<Path>, limits: &DatasetLimits) -> Result<Dataset, DatasetError> {
        let root = root.as_ref();
        if !root.is_dir() {
            return Err(DatasetError::NotADirectory {
                path: root.to_path_buf(),
            });
        }
        let mut skipped = Vec::new();
        let mut subjects = Vec::new();
        let mut images_in_root = 0u64;
        let mut total = 0u64;
        for (path, name) in list_dir(root, limits, &mut skipped)? {
            let meta = std::fs::metadata(&path);
            match meta {
                Ok(m) if m.is_dir() => {
                    if subjects.len() as u64 >= limits.max_subjects {
                        return Err(limit(
                            root,
                            "subject folders",
                            subjects.len() + 1,
                            limits.max_subjects,
                        ));
                    }
                    let mut samples = Vec::new();
                    for (file, file_name) in list_dir(&path, limits, &mut skipped)? {
                        match std::fs::metadata(&file) {
                            Ok(m) if m.is_dir() => skipped.push(SkippedEntry {
                                path: file,
                                reason: SkipReason::NestedDirectory,
                            }),
                            Ok(m) if m.is_file() => {
                                if !has_image_extension(&file_name) {
                                    skipped.push(SkippedEntry {
                                        path: file,
                                        reason: SkipReason::NotAnImageExtension,
                                    });
                                    continue;
                                }
                                if samples.len() as u64 >= limits.max_samples_per_subject {
                                    return Err(limit(
                                        &path,
                                        "images in one subject folder",
                                        samples.len() + 1,
                                        limits.max_samples_per_subject,
                                    ));
                                }
                                total += 1;
                                if total > limits.max_images {
                                    return Err(limit(
                                        root,
                                        "images",
                                        total as usize,
                                        limits.max_images,
                                    ));
                                }
                                samples.push(Sample {
                                    id: format!("{name}/{file_name}"),
                                    path: file,
                                });
                            }
                            _ => skipped.push(SkippedEntry {
                                path: file,
                                reason: SkipReason::NotAFileOrDirectory,
                            }),
                        }
                    }
                    if samples.is_empty() {
                        skipped.push(SkippedEntry {
                            path,
                            reason: SkipReason::EmptySubject,
                        });
                    } else {
                        subjects.push(Subject { name, samples });
                    }
                }
                Ok(m) if m.is_file() => {
                    if has_image_extension(&name) {
                        images_in_root += 1;
                    } else {
                        skipped.push(SkippedEntry {
                            path,
                            reason: SkipReason::FileInRoot,
                        });
                    }
                }
                _ => skipped.push(SkippedEntry {
                    path,
                    reason: SkipReason::NotAFileOrDirectory,
                }),
            }
        }
        if images_in_root > 0 {
            return Err(DatasetError::FlatLayout {
                path: root.to_path_buf(),
                images: images_in_root,
            });
        }
        if subjects.is_empty() {
            return Err(DatasetError::NoImages {
                path: root.to_path_buf(),
                skipped: skipped.len(),
            });
        }
        skipped.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Dataset {
            root: root.to_path_buf(),
            subjects,
            skipped,
        })
    }

    /// Number of images (samples over all subjects).
    pub fn image_count(&self) -> usize {
        self.subjects.iter().map(|s| s.samples.len()).sum()
    }

    /// Every sample with its subject's name, subject by subject, in sorted order.
    pub fn samples(&self) -> impl Iterator<Item = (&str, &Sample)> + '_ {
        self.subjects
            .iter()
            .flat_map(|s| s.samples.iter().map(move |x| (s.name.as_str(), x)))
    }
}

fn limit(path: &Path, what: &'static str, value: usize, bound: u64) -> DatasetError {
    DatasetError::Limit {
        path: path.to_path_buf(),
        limit: LimitError {
            what,
            value: value as u64,
            limit: bound,
        },
    }
}

fn has_image_extension(name: &str) -> bool {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// The usable entries of `dir` (path, UTF-8 name), sorted by name; unusable names go to
/// `skipped`.
fn list_dir(
    dir: &Path,
    limits: &DatasetLimits,
    skipped: &mut Vec<SkippedEntry>,
) -> Result<Vec<(PathBuf, String)>, DatasetError> {
    let io = |source| DatasetError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    let mut seen = 0u64;
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        seen += 1;
        if seen > limits.max_entries_per_dir {
            return Err(limit(
                dir,
                "directory entries",
                seen as usize,
                limits.max_entries_per_dir,
            ));
        }
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            skipped.push(SkippedEntry {
                path,
                reason: SkipReason::NonUtf8Name,
            });
            continue;
        };
        if name.starts_with('.') {
            skipped.push(SkippedEntry {
                path,
                reason: SkipReason::Hidden,
            });
        } else if name.chars().any(char::is_control) {
            skipped.push(SkippedEntry {
                path,
                reason: SkipReason::ControlCharacterInName,
            });
        } else {
            out.push((path, name));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh empty temp dir (removed by the caller's `remove_dir_all`).
    pub(crate) fn temp_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "openpalm-dataset-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn scans_sorted_and_reports_skipped_entries() {
        let d = temp_dir("scan");
        for (sub, files) in [
            ("bob", &["2.png", "1.JPG", "notes.txt", ".hidden.png"][..]),
            ("alice", &["b.bmp", "a.tif"][..]),
            ("empty", &[][..]),
            ("carol", &["x.tiff"][..]),
        ] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
            for f in files {
                std::fs::write(d.join(sub).join(f), b"not decoded here").unwrap();
            }
        }
        std::fs::create_dir_all(d.join("bob/nested")).unwrap();
        std::fs::write(d.join("README.md"), b"hi").unwrap();
        let ds = Dataset::scan(&d, &DatasetLimits::default()).unwrap();
        let names: Vec<_> = ds.subjects.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "carol"]);
        let ids: Vec<_> = ds.samples().map(|(_, s)| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "alice/a.tif",
                "alice/b.bmp",
                "bob/1.JPG",
                "bob/2.png",
                "carol/x.tiff"
            ]
        );
        assert_eq!(ds.image_count(), 5);
        let skipped: Vec<_> = ds
            .skipped
            .iter()
            .map(|s| (s.path.strip_prefix(&d).unwrap().to_str().unwrap(), s.reason))
            .collect();
        assert_eq!(
            skipped,
            [
                ("README.md", SkipReason::FileInRoot),
                ("bob/.hidden.png", SkipReason::Hidden),
                ("bob/nested", SkipReason::NestedDirectory),
                ("bob/notes.txt", SkipReason::NotAnImageExtension),
                ("empty", SkipReason::EmptySubject),
            ]
        );
        // Deterministic.
        assert_eq!(Dataset::scan(&d, &DatasetLimits::default()).unwrap(), ds);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn typed_errors_for_bad_folders_and_limits() {
        let d = temp_dir("errors");
        let e = Dataset::scan(d.join("missing"), &DatasetLimits::default()).unwrap_err();
        assert!(matches!(e, DatasetError::NotADirectory { .. }), "{e}");
        let e = Dataset::scan(&d, &DatasetLimits::default()).unwrap_err();
        assert!(
            matches!(e, DatasetError::NoImages { skipped: 0, .. }),
            "{e}"
        );
        std::fs::write(d.join("flat.jpg"), b"x").unwrap();
        let e = Dataset::scan(&d, &DatasetLimits::default()).unwrap_err();
        assert!(
            matches!(e, DatasetError::FlatLayout { images: 1, .. }),
            "{e}"
        );
        std::fs::remove_file(d.join("flat.jpg")).unwrap();
        for s in ["a", "b", "c"] {
            std::fs::create_dir_all(d.join(s)).unwrap();
            for f in ["1.png", "2.png"] {
                std::fs::write(d.join(s).join(f), b"x").unwrap();
            }
        }
        let tight = DatasetLimits {
            max_subjects: 2,
            ..DatasetLimits::default()
        };
        match Dataset::scan(&d, &tight).unwrap_err() {
            DatasetError::Limit { limit, .. } => assert_eq!((limit.value, limit.limit), (3, 2)),
            e => panic!("{e}"),
        }
        let tight = DatasetLimits {
            max_images: 5,
            ..DatasetLimits::default()
        };
        match Dataset::scan(&d, &tight).unwrap_err() {
            DatasetError::Limit { limit, .. } => assert_eq!((limit.value, limit.limit), (6, 5)),
            e => panic!("{e}"),
        }
        let tight = DatasetLimits {
            max_samples_per_subject: 1,
            ..DatasetLimits::default()
        };
        assert!(matches!(
            Dataset::scan(&d, &tight).unwrap_err(),
            DatasetError::Limit { .. }
        ));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_and_control_names_are_skipped_with_reason() {
        use std::os::unix::ffi::OsStrExt;
        let d = temp_dir("names");
        std::fs::create_dir_all(d.join("s")).unwrap();
        std::fs::write(d.join("s/ok.png"), b"x").unwrap();
        let bad = d
            .join("s")
            .join(std::ffi::OsStr::from_bytes(b"bad\xff.png"));
        std::fs::write(&bad, b"x").unwrap();
        std::fs::write(d.join("s/line\nbreak.png"), b"x").unwrap();
        let ds = Dataset::scan(&d, &DatasetLimits::default()).unwrap();
        assert_eq!(ds.image_count(), 1);
        let mut reasons: Vec<_> = ds.skipped.iter().map(|s| s.reason).collect();
        reasons.sort_by_key(|r| format!("{r:?}"));
        assert_eq!(
            reasons,
            [SkipReason::ControlCharacterInName, SkipReason::NonUtf8Name]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
