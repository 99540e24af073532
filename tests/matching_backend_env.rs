//! `OPENPALM_BACKEND` is read once per process, so each setting runs in a child process (this
//! test binary re-run with the variable set and a filter selecting `child_reports_backend`).

use openpalm::matching::{BACKEND_ENV_VAR, Backend, MatchConfig, Matcher, MatchingError};
use openpalm::{Algorithm, Geometry, Modality, PalmTemplate};
use std::process::Command;

fn probe() -> PalmTemplate {
    PalmTemplate::from_fn(
        Modality::Crease,
        Algorithm::new(1, 1, 0),
        Geometry::DEFAULT,
        |p, r, c| (r + 2 * c + p) % 3 == 0,
        |_, _| true,
    )
}

/// Prints what `Matcher::new` chose (or its error) for the parent to check.
#[test]
#[ignore = "run by `backend_env_var_forces_or_fails` in a child process"]
fn child_reports_backend() {
    match Matcher::new(&probe(), &MatchConfig::default()) {
        Ok(m) => println!("BACKEND={}", m.backend()),
        Err(MatchingError::BackendUnavailable { backend, .. }) => println!("UNAVAILABLE={backend}"),
        Err(MatchingError::UnknownBackend { name }) => println!("UNKNOWN={name}"),
        Err(e) => println!("OTHER={e}"),
    }
}

fn child(value: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_reports_backend",
            "--nocapture",
        ])
        .env(BACKEND_ENV_VAR, value)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    stdout
        .lines()
        .find(|l| l.contains('='))
        .unwrap_or_else(|| panic!("child said nothing: {stdout}"))
        .to_string()
}

#[test]
fn backend_env_var_forces_or_fails() {
    assert_eq!(child("scalar"), "BACKEND=scalar");
    assert_eq!(child("auto"), format!("BACKEND={}", Backend::detect()));
    assert_eq!(child("mmx"), "UNKNOWN=mmx");
    for b in Backend::ALL {
        let want = if b.is_available() {
            format!("BACKEND={b}")
        } else {
            format!("UNAVAILABLE={b}")
        };
        assert_eq!(child(b.name()), want);
    }
}
