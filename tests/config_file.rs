//! The shipped example config is valid and equals the defaults it documents.

use sendguard::config::Config;

#[test]
fn the_example_config_parses_to_the_defaults() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sendguard.example.toml"
    ))
    .unwrap();
    let config = Config::parse(&text).unwrap();
    config.validate().unwrap();
    assert_eq!(config, Config::default());
}

#[test]
fn a_bad_config_value_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let not_utf8: &[u8] = b"[server]\n# caf\xe9\n";
    for (text, key) in [
        (
            &b"[messaging]\nrecall_window_secs = \"soon\"\n"[..],
            "recall_window_secs",
        ),
        // Bytes that are not UTF-8: the line, since there is no key to name.
        (not_utf8, "bad.toml:2: not UTF-8"),
        (
            &b"[server]\nadmin_token = \"short\"\n"[..],
            "server.admin_token",
        ),
        (&b"[mesaging]\n"[..], "mesaging"),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_sendguard"))
            .args(["serve", "--addr", "127.0.0.1:0", "--data"])
            .arg(dir.path().join("data"))
            .arg("--config")
            .arg(&path)
            .env_remove("SENDGUARD_ADMIN_TOKEN")
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(key), "{key} not named in: {stderr}");
        assert!(stderr.contains("bad.toml"), "file not named in: {stderr}");
    }
}
