//! Runs the Python end-to-end suite in `tests/py` against the binary cargo just built, so that `cargo test`
//! alone runs everything. The suite's output is printed, and any failing Python test fails this test.
//! Set `BINCIMAP_TEST_SERVER=dovecot` to point the same suite at Dovecot instead (see tests/py/support.py).

use std::process::Command;

#[test]
fn python_end_to_end_suite() {
    let bin = env!("CARGO_BIN_EXE_bincimap");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let mut cmd = Command::new(&python);
    cmd.args(["-m", "unittest", "discover", "-v", "-s", dir, "-t", dir])
        .current_dir(dir)
        .env("BINCIMAP_BIN", bin)
        // keep __pycache__ out of the source tree
        .env("PYTHONDONTWRITEBYTECODE", "1");
    // a pattern such as `BINCIMAP_PY_TESTS=test_fetch` runs one module only
    if let Ok(only) = std::env::var("BINCIMAP_PY_TESTS") {
        cmd.args(["-p", &format!("{only}.py")]);
    }
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run {python}: {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    println!("{stderr}");
    assert!(
        out.status.success(),
        "the Python end-to-end suite failed ({}); its output is above",
        out.status
    );
    assert!(
        stderr.contains("\nOK"),
        "the Python suite did not report OK; its output is above"
    );
}
