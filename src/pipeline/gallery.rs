//! [`SubjectGallery`]: enrolled subjects, their references per modality, and opaque metadata.

use std::collections::HashMap;
use std::fmt;

use super::{BestOf, Decision, Enrolment, MODALITIES, Pipeline, PipelineError, ProbeTemplates};
use crate::features::FeatureExtractor;
use crate::matching::{Gallery, Matcher};
use crate::{Modality, RoiDetector};

/// A subject's id, chosen by the caller: a number or a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectId {
    /// A numeric id.
    Number(u64),
    /// A string id (e.g. a customer reference).
    Name(String),
}

impl fmt::Display for SubjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectId::Number(n) => write!(f, "#{n}"),
            SubjectId::Name(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<u64> for SubjectId {
    fn from(n: u64) -> Self {
        SubjectId::Number(n)
    }
}

impl From<&str> for SubjectId {
    fn from(s: &str) -> Self {
        SubjectId::Name(s.to_owned())
    }
}

impl From<String> for SubjectId {
    fn from(s: String) -> Self {
        SubjectId::Name(s)
    }
}

#[derive(Debug, Clone)]
struct Subject {
    metadata: Vec<u8>,
    /// Reference ids per modality (index = [`MODALITIES`] order), in insertion order.
    refs: [Vec<u64>; 2],
    enrolments: usize,
}

/// Enrolled subjects for identification: each subject (a caller-chosen [`SubjectId`]) has one
/// or more [`Enrolment`]s and an opaque metadata blob (for example tokenised payment accounts;
/// the library stores and returns the bytes and never interprets them).
///
/// References live in one [`matching::Gallery`](crate::matching::Gallery) per modality under
/// internal reference ids mapped back to subjects.
#[derive(Debug, Clone)]
pub struct SubjectGallery {
    max_metadata_bytes: u32,
    galleries: [Option<Gallery>; 2],
    subjects: HashMap<SubjectId, Subject>,
    owners: HashMap<u64, SubjectId>,
    next_reference: u64,
}

impl SubjectGallery {
    /// An empty gallery whose metadata blobs are limited to `max_metadata_bytes` (usually the
    /// pipeline's [`PipelineConfig::max_metadata_bytes`](super::PipelineConfig::max_metadata_bytes);
    /// see [`Pipeline::new_gallery`]).
    pub fn new(max_metadata_bytes: u32) -> Self {
        Self {
            max_metadata_bytes,
            galleries: [None, None],
            subjects: HashMap::new(),
            owners: HashMap::new(),
            next_reference: 0,
        }
    }

    /// Number of subjects.
    pub fn len(&self) -> usize {
        self.subjects.len()
    }

    /// Whether there are no subjects.
    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
    }

    /// Whether a subject is enrolled.
    pub fn contains(&self, id: &SubjectId) -> bool {
        self.subjects.contains_key(id)
    }

    /// Number of references of a modality, over all subjects.
    pub fn reference_count(&self, modality: Modality) -> usize {
        self.galleries[slot(modality)]
            .as_ref()
            .map_or(0, Gallery::len)
    }

    /// Number of enrolments of a subject.
    pub fn enrolment_count(&self, id: &SubjectId) -> Option<usize> {
        self.subjects.get(id).map(|s| s.enrolments)
    }

    fn check_metadata(&self, metadata: &[u8]) -> Result<(), PipelineError> {
        if metadata.len() > self.max_metadata_bytes as usize {
            return Err(PipelineError::MetadataTooLarge {
                bytes: metadata.len(),
                limit: self.max_metadata_bytes,
            });
        }
        Ok(())
    }

    /// Moves the reference counter (tests of the exhaustion path only).
    #[cfg(test)]
    pub(super) fn set_next_reference(&mut self, next: u64) {
        self.next_reference = next;
    }

    /// Adds a subject with its first enrolment and its metadata (at most the gallery's
    /// metadata limit). Nothing is added on error.
    pub fn add_subject(
        &mut self,
        id: SubjectId,
        enrolment: &Enrolment,
        metadata: Vec<u8>,
    ) -> Result<(), PipelineError> {
        if self.subjects.contains_key(&id) {
            return Err(PipelineError::DuplicateSubject(id));
        }
        self.check_metadata(&metadata)?;
        self.subjects.insert(
            id.clone(),
            Subject {
                metadata,
                refs: [Vec::new(), Vec::new()],
                enrolments: 0,
            },
        );
        if let Err(e) = self.add_enrolment(&id, enrolment) {
            self.subjects.remove(&id);
            return Err(e);
        }
        Ok(())
    }

    /// Adds another enrolment to a subject (e.g. the other hand, or a re-enrolment). Nothing
    /// is added on error.
    pub fn add_enrolment(
        &mut self,
        id: &SubjectId,
        enrolment: &Enrolment,
    ) -> Result<(), PipelineError> {
        if !self.subjects.contains_key(id) {
            return Err(PipelineError::UnknownSubject(id.clone()));
        }
        let mut added: Vec<(usize, u64)> = Vec::new();
        let result = self.add_references(id, enrolment, &mut added);
        if result.is_err() {
            for &(m, r) in &added {
                if let Some(g) = self.galleries[m].as_mut() {
                    // Just added under a fresh id: removal cannot fail.
                    let _ = g.remove(r);
                }
                self.owners.remove(&r);
            }
            return result;
        }
        let subject = self.subjects.get_mut(id).expect("checked above");
        for (m, r) in added {
            subject.refs[m].push(r);
        }
        subject.enrolments += 1;
        Ok(())
    }

    fn add_references(
        &mut self,
        id: &SubjectId,
        enrolment: &Enrolment,
        added: &mut Vec<(usize, u64)>,
    ) -> Result<(), PipelineError> {
        for (m, modality) in MODALITIES.into_iter().enumerate() {
            for t in enrolment.references(modality) {
                let gallery = self.galleries[m].get_or_insert_with(|| Gallery::like(t));
                let r = self.next_reference;
                let next = r.checked_add(1).ok_or(PipelineError::GalleryFull(r))?;
                gallery
                    .add(r, t)
                    .map_err(|source| PipelineError::Matching { modality, source })?;
                self.next_reference = next;
                self.owners.insert(r, id.clone());
                added.push((m, r));
            }
        }
        Ok(())
    }

    /// Removes a subject and all its references; returns its metadata.
    pub fn remove_subject(&mut self, id: &SubjectId) -> Result<Vec<u8>, PipelineError> {
        let subject = self
            .subjects
            .remove(id)
            .ok_or_else(|| PipelineError::UnknownSubject(id.clone()))?;
        for (m, refs) in subject.refs.iter().enumerate() {
            for &r in refs {
                if let Some(g) = self.galleries[m].as_mut() {
                    let _ = g.remove(r);
                }
                self.owners.remove(&r);
            }
        }
        Ok(subject.metadata)
    }

    /// A subject's metadata, exactly as stored.
    pub fn metadata(&self, id: &SubjectId) -> Option<&[u8]> {
        self.subjects.get(id).map(|s| s.metadata.as_slice())
    }

    /// Replaces a subject's metadata (at most the gallery's metadata limit).
    pub fn set_metadata(&mut self, id: &SubjectId, metadata: Vec<u8>) -> Result<(), PipelineError> {
        self.check_metadata(&metadata)?;
        let subject = self
            .subjects
            .get_mut(id)
            .ok_or_else(|| PipelineError::UnknownSubject(id.clone()))?;
        subject.metadata = metadata;
        Ok(())
    }
}

fn slot(modality: Modality) -> usize {
    match modality {
        Modality::Crease => 0,
        Modality::Vein => 1,
    }
}

/// One identification candidate: a subject and the decision for it (per-modality best over the
/// subject's references, fused score, verdict at the configured threshold).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The subject.
    pub subject: SubjectId,
    /// Its comparison with the probe. `reference` indices in the modality scores count the
    /// subject's references of that modality in insertion order, over all its enrolments.
    pub decision: Decision,
}

impl<D: RoiDetector, C: FeatureExtractor, V: FeatureExtractor> Pipeline<D, C, V> {
    /// An empty [`SubjectGallery`] with this pipeline's metadata limit.
    pub fn new_gallery(&self) -> SubjectGallery {
        SubjectGallery::new(self.config.max_metadata_bytes)
    }

    /// The `k` subjects most similar to the probe, best first (by fused score; subjects with
    /// no score last). Each candidate carries its [`Decision`]; check
    /// [`Decision::is_match`] — the top candidate is not necessarily a match.
    ///
    /// **Gallery size.** Each candidate is decided at the per-comparison threshold, so the chance
    /// that a never-enrolled person is accepted as *someone* grows with the number of subjects
    /// `N`: FPIR = 1 − (1 − FMR)^N ≈ N · FMR. Choose the threshold for the gallery with
    /// [`Threshold::fpir`](super::Threshold::fpir)`(target, N)` and re-derive it as the gallery
    /// grows; see the [calibration module](super::calibration) for the measured check.
    ///
    /// The probe is prepared once per modality. Per modality, the gallery search returns the
    /// `k · R` nearest references (`R` = the most references one subject has), which contain
    /// every subject among that modality's `k` best; the union of those subjects is then scored
    /// on all modalities (best distance over each subject's references) and fused. A subject
    /// outside every modality's `k` best is not considered even if its fused score would rank
    /// it in the top `k` (possible only when it is mediocre in every modality).
    ///
    /// Errors: [`PipelineError::NoCommonModality`] when the gallery is not empty but has no
    /// references of the probe's modalities; [`PipelineError::Matching`] when the probe is not
    /// comparable with the gallery.
    pub fn identify(
        &self,
        probe: &ProbeTemplates,
        gallery: &SubjectGallery,
        k: usize,
    ) -> Result<Vec<Candidate>, PipelineError> {
        if k == 0 || gallery.is_empty() {
            return Ok(Vec::new());
        }
        let mut matchers: [Option<(&Gallery, Matcher)>; 2] = [None, None];
        for (m, modality) in MODALITIES.into_iter().enumerate() {
            let (Some(p), Some(g)) = (probe.template(modality), gallery.galleries[m].as_ref())
            else {
                continue;
            };
            if g.is_empty() {
                continue;
            }
            let matcher = Matcher::new(p, &self.config.matching)
                .map_err(|source| PipelineError::Matching { modality, source })?;
            matchers[m] = Some((g, matcher));
        }
        if matchers.iter().all(Option::is_none) {
            return Err(PipelineError::NoCommonModality);
        }
        // Candidate subjects: the union of each modality's k best.
        let mut shortlist: Vec<&SubjectId> = Vec::new();
        for (m, modality) in MODALITIES.into_iter().enumerate() {
            let Some((g, matcher)) = &matchers[m] else {
                continue;
            };
            let per_subject = gallery
                .subjects
                .values()
                .map(|s| s.refs[m].len())
                .max()
                .unwrap_or(0)
                .max(1);
            let want = k.saturating_mul(per_subject).min(g.len());
            let found = g
                .search(matcher, want)
                .map_err(|source| PipelineError::Matching { modality, source })?;
            for c in found {
                if let Some(owner) = gallery.owners.get(&c.id)
                    && !shortlist.contains(&owner)
                {
                    shortlist.push(owner);
                }
            }
        }
        let mut out = Vec::with_capacity(shortlist.len());
        for id in shortlist {
            let subject = &gallery.subjects[id];
            let mut scores = [None, None];
            for (m, modality) in MODALITIES.into_iter().enumerate() {
                let Some((g, matcher)) = &matchers[m] else {
                    continue;
                };
                let mut best = BestOf::default();
                for (i, &r) in subject.refs[m].iter().enumerate() {
                    let entry = g.get(r).expect("reference ids are kept in sync");
                    let outcome = matcher
                        .compare_words(entry.code, entry.mask)
                        .map_err(|source| PipelineError::Matching { modality, source })?;
                    best.push(i, outcome);
                }
                scores[m] = best.score(self.config.fusion.modality(modality));
            }
            out.push(Candidate {
                subject: id.clone(),
                decision: self.decide(scores),
            });
        }
        out.sort_by(|a, b| {
            let key = |c: &Candidate| c.decision.fused_score.unwrap_or(f64::NEG_INFINITY);
            key(b)
                .total_cmp(&key(a))
                .then_with(|| a.subject.cmp(&b.subject))
        });
        out.truncate(k);
        Ok(out)
    }
}
