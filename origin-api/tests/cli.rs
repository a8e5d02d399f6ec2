//! The `kefu` binary as its operator uses it: first start, admin commands on the same database
//! while the server runs, a clean stop, and clear refusals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{KEFU, kefu, stdout};
use serde_json::{Value, json};

struct Serving {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    base: String,
    printed: Vec<String>,
}

/// Starts `kefu serve` in `dir` (the default database path is relative to it) and reads what it
/// prints until the end of its banner.
fn serve(dir: &Path) -> Serving {
    let mut child = Command::new(KEFU)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut printed = Vec::new();
    while !printed.iter().any(|l: &String| l.trim_start().starts_with("Records")) {
        printed.push(lines.recv_timeout(Duration::from_secs(30)).expect("kefu serve printed its banner"));
    }
    // The first start's account follows the banner.
    while let Ok(line) = lines.recv_timeout(Duration::from_millis(300)) {
        printed.push(line);
    }
    let base = printed[0].rsplit(' ').next().unwrap().to_owned();
    Serving { child, lines, base, printed }
}

impl Serving {
    fn printed(&self, label: &str) -> Option<String> {
        self.printed.iter().find_map(|l| l.trim_start().strip_prefix(label).map(|v| v.trim().to_owned()))
    }

    /// SIGTERM, then the exit status and what it printed on the way out.
    fn terminate(mut self) -> (bool, Vec<String>) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "kefu did not stop");
            std::thread::sleep(Duration::from_millis(50));
        };
        (status.success(), self.lines.try_iter().collect())
    }
}

fn login(base: &str, email: &str, password: &str) -> u16 {
    let response = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .unwrap();
    response.status().as_u16()
}

/// The id after `created <kind> ` in a command's output.
fn created_id(output: &str, after: &str) -> String {
    output.split(after).nth(1).unwrap().split_whitespace().next().unwrap().to_owned()
}

#[test]
fn first_start_admin_commands_while_serving_and_a_clean_stop() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());
    assert!(dir.path().join("kefu-data/kefu.db").exists());
    assert_eq!(server.printed("Records").as_deref(), Some("sqlite:./kefu-data/kefu.db"));
    let email = server.printed("email").unwrap();
    let password = server.printed("password").unwrap();
    assert!(password.len() >= 16, "a random password: {password}");
    assert_eq!(login(&server.base, &email, &password), 200);
    let health: Value = reqwest::blocking::get(format!("{}/healthz", server.base)).unwrap().json().unwrap();
    assert_eq!(health["status"], "ok");
    // A container's health check: a server listening on every address is asked on loopback.
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let listen_everywhere = format!("0.0.0.0:{port}");
    let checked = stdout(&kefu(dir.path(), &["healthcheck", "--listen", &listen_everywhere], ""));
    assert!(
        checked.contains(&format!("http://127.0.0.1:{port}/healthz")) && checked.contains("ok"),
        "{checked}"
    );

    // The operator adds a customer while the server runs.
    let tenant = stdout(&kefu(dir.path(), &["tenant", "create", "--name", "Acme"], ""));
    let tenant = created_id(&tenant, "created tenant ");
    let site = stdout(&kefu(
        dir.path(),
        &[
            "site",
            "create",
            "--tenant",
            &tenant,
            "--name",
            "Acme shop",
            "--origin",
            "https://shop.acme.example",
        ],
        "",
    ));
    assert!(site.contains("with the public key k_"), "{site}");
    let args = [
        "agent",
        "create",
        "--tenant",
        &tenant,
        "--email",
        "ana@acme.example",
        "--name",
        "Ana",
        "--role",
        "admin",
    ];
    stdout(&kefu(dir.path(), &args, "ana's first password\n"));
    assert_eq!(login(&server.base, "ana@acme.example", "ana's first password"), 200);

    let reset = ["agent", "reset-password", "--email", "ana@acme.example"];
    stdout(&kefu(dir.path(), &reset, "ana's second password\n"));
    assert_eq!(login(&server.base, "ana@acme.example", "ana's first password"), 401);
    assert_eq!(login(&server.base, "ana@acme.example", "ana's second password"), 200);

    let (stopped_cleanly, said) = server.terminate();
    assert!(stopped_cleanly);
    assert!(said.iter().any(|line| line.starts_with("Stopping")), "{said:?}");
    // Every connection was closed: the write-ahead log is folded into the database, so the one
    // file is all of the records (copied alone, it is a whole backup).
    let logs_left = || {
        ["kefu.db-wal", "kefu.db-shm"]
            .into_iter()
            .filter(|log| dir.path().join("kefu-data").join(log).exists())
    };
    assert_eq!(logs_left().count(), 0, "left after a clean stop: {:?}", logs_left().collect::<Vec<_>>());
    // So does an admin command run while the server is stopped.
    stdout(&kefu(dir.path(), &["tenant", "create", "--name", "Offline"], ""));
    assert_eq!(logs_left().count(), 0, "left after a command: {:?}", logs_left().collect::<Vec<_>>());
    let down = kefu(dir.path(), &["healthcheck", "--listen", &listen_everywhere], "");
    assert!(!down.status.success(), "a stopped server is not healthy");
    assert!(String::from_utf8_lossy(&down.stderr).contains("did not answer"), "{down:?}");

    // A second start on the same records creates nothing and prints no password.
    let again = serve(dir.path());
    assert_eq!(again.printed("password"), None);
    assert_eq!(login(&again.base, "ana@acme.example", "ana's second password"), 200);
    assert!(again.terminate().0);
}

#[test]
fn admin_commands_refuse_bad_input_with_one_clear_sentence() {
    let dir = tempfile::tempdir().unwrap();
    stdout(&kefu(dir.path(), &["migrate"], ""));
    let cases: [(&[&str], &str, &str); 5] = [
        (&["site", "create", "--tenant", "t_missing", "--name", "X"], "", "there is no tenant t_missing"),
        (
            &["site", "create", "--tenant", "t_missing", "--name", "X", "--origin", "shop.example/"],
            "",
            "there is no tenant",
        ),
        (
            &["agent", "reset-password", "--email", "nobody@x.example"],
            "some password\n",
            "no agent has the email",
        ),
        (
            &["tenant", "create", "--name", "Acme", "--database-url", "postgres://u:hunter2@db/kefu"],
            "",
            "are not supported",
        ),
        (
            &["agent", "create", "--tenant", "t_x", "--email", "bad", "--name", "B"],
            "",
            "there is no tenant t_x",
        ),
    ];
    for (args, input, expected) in cases {
        let output = kefu(dir.path(), args, input);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "the password in the URL was printed");
    }
    let tenant = stdout(&kefu(dir.path(), &["tenant", "create", "--name", "Acme"], ""));
    let tenant = created_id(&tenant, "created tenant ");
    let no_password = kefu(
        dir.path(),
        &["agent", "create", "--tenant", &tenant, "--email", "a@acme.example", "--name", "A"],
        "",
    );
    assert!(String::from_utf8_lossy(&no_password.stderr).contains("give the password on standard input"));
    let short = kefu(
        dir.path(),
        &["agent", "create", "--tenant", &tenant, "--email", "a@acme.example", "--name", "A"],
        "short\n",
    );
    assert!(String::from_utf8_lossy(&short.stderr).contains("10 to 256 characters"));
    let listed = stdout(&kefu(dir.path(), &["tenant", "list"], ""));
    assert_eq!(listed.lines().count(), 1, "nothing else was created: {listed}");
}

#[test]
fn each_command_lists_only_the_settings_it_takes() {
    let dir = tempfile::tempdir().unwrap();
    let admin = stdout(&kefu(dir.path(), &["tenant", "--help"], ""));
    assert!(admin.contains("--database-url") && admin.contains("--config"), "{admin}");
    for serving_only in ["--listen", "--max-sockets-per-ip", "--data-dir", "--signing-key"] {
        assert!(!admin.contains(serving_only), "kefu tenant --help lists {serving_only}:\n{admin}");
    }
    let serve = stdout(&kefu(dir.path(), &["serve", "--help"], ""));
    assert!(serve.contains("--listen") && serve.contains("--data-dir"), "{serve}");
}
