//! Matching parameters.

use crate::error::{ConfigError, ConfigIssue};

/// Largest shift window half-width this build accepts, in cells (rows or columns): ±8, i.e. up to
/// 17 × 17 = 289 shifts.
pub const MAX_SHIFT_CELLS: u8 = 8;

/// Parameters of a comparison: the shift window and the minimum-overlap rule.
///
/// Serialises with serde (unknown fields are rejected). Validate with [`MatchConfig::validate`];
/// [`crate::matching::Matcher::new`] validates too.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchConfig {
    /// Largest row shift tried, in cells: shifts `-max_shift_rows..=max_shift_rows`. Default 2
    /// (CompCode and most palmprint coders; BOCV-style coders use 4). At most
    /// [`MAX_SHIFT_CELLS`].
    pub max_shift_rows: u8,
    /// Largest column shift tried, in cells. Default 2; at most [`MAX_SHIFT_CELLS`].
    pub max_shift_cols: u8,
    /// Minimum overlap, as a fraction of the grid's cells (`rows · cols`), that a shift needs to
    /// be considered: shifts with fewer valid cells in common are skipped, and a comparison where
    /// no shift qualifies is [`ComparisonOutcome::InsufficientOverlap`]. In `[0, 1]`; default 0.5
    /// (the ALGORITHMS.md §4 suggestion).
    ///
    /// [`ComparisonOutcome::InsufficientOverlap`]: crate::matching::ComparisonOutcome::InsufficientOverlap
    pub min_overlap_fraction: f64,
    /// Minimum overlap in cells, applied together with the fraction (the larger requirement wins).
    /// At least 1 (a zero overlap has no distance). Default 1.
    pub min_overlap_cells: u32,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self {
            max_shift_rows: 2,
            max_shift_cols: 2,
            min_overlap_fraction: 0.5,
            min_overlap_cells: 1,
        }
    }
}

impl MatchConfig {
    /// The default window with no shifts at all (one comparison at shift (0, 0)).
    pub fn unshifted() -> Self {
        Self {
            max_shift_rows: 0,
            max_shift_cols: 0,
            ..Self::default()
        }
    }

    /// Number of shifts in the window: `(2 · rows + 1) · (2 · cols + 1)`.
    pub fn shift_count(&self) -> usize {
        (2 * self.max_shift_rows as usize + 1) * (2 * self.max_shift_cols as usize + 1)
    }

    /// Checks every field; the error lists each bad value with its bound (fields named
    /// `matching.<field>`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut issues = Vec::new();
        if self.max_shift_rows > MAX_SHIFT_CELLS {
            issues.push(ConfigIssue {
                field: "matching.max_shift_rows".into(),
                value: self.max_shift_rows.to_string(),
                bound: format!("must be ≤ {MAX_SHIFT_CELLS} cells"),
            });
        }
        if self.max_shift_cols > MAX_SHIFT_CELLS {
            issues.push(ConfigIssue {
                field: "matching.max_shift_cols".into(),
                value: self.max_shift_cols.to_string(),
                bound: format!("must be ≤ {MAX_SHIFT_CELLS} cells"),
            });
        }
        if !(self.min_overlap_fraction.is_finite()
            && (0.0..=1.0).contains(&self.min_overlap_fraction))
        {
            issues.push(ConfigIssue {
                field: "matching.min_overlap_fraction".into(),
                value: self.min_overlap_fraction.to_string(),
                bound: "must be a finite fraction in [0, 1]".into(),
            });
        }
        if self.min_overlap_cells == 0 {
            issues.push(ConfigIssue {
                field: "matching.min_overlap_cells".into(),
                value: "0".into(),
                bound: "must be ≥ 1 (a zero overlap has no distance)".into(),
            });
        }
        ConfigError::check(issues)
    }

    /// The overlap, in cells, a shift needs on a grid of `cells` cells:
    /// `max(min_overlap_cells, ⌈min_overlap_fraction · cells⌉, 1)`.
    pub fn required_overlap_cells(&self, cells: usize) -> u64 {
        let from_fraction = (self.min_overlap_fraction * cells as f64).ceil();
        let from_fraction = if from_fraction.is_finite() && from_fraction > 0.0 {
            from_fraction as u64
        } else {
            0
        };
        from_fraction.max(u64::from(self.min_overlap_cells)).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_has_25_shifts() {
        let c = MatchConfig::default();
        c.validate().unwrap();
        assert_eq!(c.shift_count(), 25);
        assert_eq!(MatchConfig::unshifted().shift_count(), 1);
        assert_eq!(c.required_overlap_cells(1024), 512);
        assert_eq!(c.required_overlap_cells(3), 2);
    }

    #[test]
    fn every_bad_value_is_listed_with_its_bound() {
        let c = MatchConfig {
            max_shift_rows: 9,
            max_shift_cols: 200,
            min_overlap_fraction: f64::NAN,
            min_overlap_cells: 0,
        };
        let e = c.validate().unwrap_err();
        let fields: Vec<_> = e.issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "matching.max_shift_rows",
                "matching.max_shift_cols",
                "matching.min_overlap_fraction",
                "matching.min_overlap_cells"
            ]
        );
        assert_eq!(e.issues[1].value, "200");
        assert!(e.issues[1].bound.contains('8'));
        let c = MatchConfig {
            min_overlap_fraction: 1.5,
            ..MatchConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().issues.len(), 1);
    }

    #[test]
    fn serde_rejects_unknown_fields() {
        let c: MatchConfig = serde_json::from_str(r#"{"max_shift_rows": 4}"#).unwrap();
        assert_eq!(c.max_shift_rows, 4);
        assert_eq!(c.max_shift_cols, 2);
        assert!(serde_json::from_str::<MatchConfig>(r#"{"max_shift": 4}"#).is_err());
    }
}
