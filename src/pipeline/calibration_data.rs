//! Placeholder until the first calibration run: nothing supported.

use super::CalibrationPoint::NotSupported;
use super::{CalibrationTable, CapturePairCalibration, ScoreCalibration};

const NONE: ScoreCalibration = ScoreCalibration {
    mated: 0,
    non_mated: 0,
    eer: 0.0,
    points: [
        NotSupported {
            target_fmr: 1e-2,
            non_mated: 0,
            needed: 300,
        },
        NotSupported {
            target_fmr: 1e-3,
            non_mated: 0,
            needed: 3000,
        },
        NotSupported {
            target_fmr: 1e-4,
            non_mated: 0,
            needed: 30000,
        },
        NotSupported {
            target_fmr: 1e-5,
            non_mated: 0,
            needed: 300000,
        },
        NotSupported {
            target_fmr: 1e-6,
            non_mated: 0,
            needed: 3000000,
        },
    ],
};

/// Placeholder.
pub static CALIBRATION: CalibrationTable = CalibrationTable {
    crease: NONE,
    vein: NONE,
    fused: NONE,
    capture_pairs: CapturePairCalibration {
        crease: NONE,
        vein: NONE,
    },
};
