//! Kernel backends: run-time detection, forcing, and the `OPENPALM_BACKEND` override.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use super::MatchingError;

/// Environment variable that forces a backend for matchers built with
/// [`Matcher::new`](super::Matcher::new): `scalar`, `avx2`, `avx512`, `neon`, or `auto` (the
/// default when unset or empty). Read once per process. Naming a backend this CPU lacks makes
/// `Matcher::new` fail with [`MatchingError::BackendUnavailable`] rather than fall back silently.
pub const BACKEND_ENV_VAR: &str = "OPENPALM_BACKEND";

/// A comparison kernel implementation. Every backend returns bit-identical results; they differ
/// only in speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Backend {
    /// Portable scalar reference (`u64::count_ones`), compiled for the crate's target baseline.
    Scalar,
    /// x86-64 AVX2: nibble-table popcount on 256-bit vectors.
    Avx2,
    /// x86-64 AVX-512F + AVX512_VPOPCNTDQ: `vpternlogq` and `vpopcntq` on 512-bit vectors.
    Avx512,
    /// aarch64 NEON (Advanced SIMD): `vcntq_u8` on 128-bit vectors.
    Neon,
}

impl Backend {
    /// Every backend, fastest-preferred last.
    pub const ALL: [Backend; 4] = [
        Backend::Scalar,
        Backend::Avx2,
        Backend::Avx512,
        Backend::Neon,
    ];

    /// Lower-case name, as accepted by [`BACKEND_ENV_VAR`] and [`FromStr`].
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "scalar",
            Backend::Avx2 => "avx2",
            Backend::Avx512 => "avx512",
            Backend::Neon => "neon",
        }
    }

    /// Whether this backend is compiled for this architecture and supported by this CPU.
    pub fn is_available(self) -> bool {
        match self {
            Backend::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
            }
            #[cfg(target_arch = "aarch64")]
            Backend::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The backends available here, slowest first.
    pub fn available() -> Vec<Backend> {
        Self::ALL.into_iter().filter(|b| b.is_available()).collect()
    }

    /// The fastest available backend (AVX-512, then AVX2, NEON, scalar).
    pub fn detect() -> Backend {
        [Backend::Avx512, Backend::Avx2, Backend::Neon]
            .into_iter()
            .find(|b| b.is_available())
            .unwrap_or(Backend::Scalar)
    }

    /// `Ok(self)` when available, else [`MatchingError::BackendUnavailable`].
    pub fn check(self) -> Result<Backend, MatchingError> {
        if self.is_available() {
            Ok(self)
        } else {
            Err(MatchingError::BackendUnavailable {
                backend: self,
                available: Self::available(),
            })
        }
    }

    /// The backend named by `value` (as in [`BACKEND_ENV_VAR`]; `auto` or empty = [`detect`]),
    /// checked for availability.
    ///
    /// [`detect`]: Backend::detect
    pub fn from_setting(value: &str) -> Result<Backend, MatchingError> {
        let value = value.trim();
        if value.is_empty() || value.eq_ignore_ascii_case("auto") {
            return Ok(Self::detect());
        }
        value.parse::<Backend>()?.check()
    }

    /// The backend [`Matcher::new`](super::Matcher::new) uses: [`BACKEND_ENV_VAR`] if set,
    /// else [`detect`](Backend::detect). The variable is read once per process and the answer
    /// cached.
    pub fn selected() -> Result<Backend, MatchingError> {
        static SELECTED: OnceLock<Result<Backend, MatchingError>> = OnceLock::new();
        SELECTED
            .get_or_init(|| match std::env::var(BACKEND_ENV_VAR) {
                Ok(v) => Self::from_setting(&v),
                Err(std::env::VarError::NotPresent) => Ok(Self::detect()),
                Err(std::env::VarError::NotUnicode(v)) => Err(MatchingError::UnknownBackend {
                    name: v.to_string_lossy().into_owned(),
                }),
            })
            .clone()
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = MatchingError;

    /// Parses a backend name (case-insensitive); does not check availability.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| MatchingError::UnknownBackend {
                name: s.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_scalar_is_always_there() {
        for b in Backend::ALL {
            assert_eq!(b.name().parse::<Backend>().unwrap(), b);
            assert_eq!(b.to_string(), b.name());
        }
        assert!(Backend::Scalar.is_available());
        assert!(Backend::detect().is_available());
        assert_eq!(Backend::from_setting("auto").unwrap(), Backend::detect());
        assert_eq!(Backend::from_setting(" SCALAR ").unwrap(), Backend::Scalar);
        assert!(matches!(
            Backend::from_setting("sse9"),
            Err(MatchingError::UnknownBackend { .. })
        ));
    }

    #[test]
    fn forcing_a_missing_backend_is_an_error() {
        for b in Backend::ALL {
            match b.check() {
                Ok(x) => assert!(x.is_available()),
                Err(MatchingError::BackendUnavailable { backend, available }) => {
                    assert_eq!(backend, b);
                    assert!(!available.contains(&b));
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        #[cfg(target_arch = "x86_64")]
        assert!(Backend::Neon.check().is_err());
    }
}
