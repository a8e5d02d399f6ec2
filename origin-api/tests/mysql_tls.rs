//! Records on a MySQL/MariaDB server that takes TLS connections only, as the RDS instance of
//! terraform/ does: `ssl-mode=required` in the database URL encrypts, `ssl-mode=verify_ca` with
//! `ssl-ca` also checks the server's certificate, and a plaintext URL is refused in one sentence.
//! The server is a private mariadbd started for the test with a certificate made for it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{kefu, stdout};

/// A mariadbd of its own on a free port, which refuses connections without TLS.
struct TlsMariadb {
    child: Child,
    port: u16,
    /// The CA its certificate is signed by.
    ca: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for TlsMariadb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn start() -> TlsMariadb {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (key, cert, data, socket) = (path("key.pem"), path("cert.pem"), path("data"), path("mysqld.sock"));
    // A CA of its own, and the server's certificate signed by it.
    let (ca_key, ca, request, extensions) =
        (path("ca.key"), path("ca.pem"), path("server.csr"), path("ext.cnf"));
    let subject = |name: &str| format!("/CN={name}");
    run(
        "openssl",
        &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &ca_key, "-out", &ca, "-days", "2"]
            .into_iter()
            .chain(["-subj", &subject("kefu test CA")])
            .collect::<Vec<_>>(),
    );
    run(
        "openssl",
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &request,
            "-subj",
            &subject("127.0.0.1"),
        ],
    );
    std::fs::write(&extensions, "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n").unwrap();
    run(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &request,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "2",
            "-extfile",
            &extensions,
        ],
    );
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let user = format!("--user={}", user.trim());
    run(
        "mariadb-install-db",
        &[
            "--no-defaults",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            &format!("--datadir={data}"),
            &user,
        ],
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("mariadbd")
        .args([
            "--no-defaults",
            &format!("--datadir={data}"),
            &format!("--socket={socket}"),
            &format!("--port={port}"),
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            &format!("--pid-file={}", path("mysqld.pid")),
            &format!("--log-error={}", path("error.log")),
            &format!("--ssl-cert={cert}"),
            &format!("--ssl-key={key}"),
            &format!("--ssl-ca={ca}"),
            "--require-secure-transport=ON",
            "--innodb-buffer-pool-size=16M",
            &user,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadbd (the mariadb-server package) is installed");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "mariadbd did not start: {}", log(dir.path()));
        std::thread::sleep(Duration::from_millis(100));
    }
    // Over its socket, which counts as secure: the database the URLs name.
    run("mariadb", &["--no-defaults", &format!("--socket={socket}"), "-uroot", "-e", "CREATE DATABASE kefu"]);
    TlsMariadb { child, port, ca: PathBuf::from(ca), _dir: dir }
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
}

#[test]
fn a_database_that_takes_only_tls_is_reached_with_ssl_mode_required_and_a_plaintext_url_is_refused() {
    let server = start();
    let work = tempfile::tempdir().unwrap();
    let url = |query: &str| format!("mysql://root@127.0.0.1:{}/kefu?{query}", server.port);

    let required = url("ssl-mode=required");
    let migrated = stdout(&kefu(work.path(), &["migrate", "--database-url", &required], ""));
    assert!(migrated.contains("up to date"), "{migrated}");
    let created =
        stdout(&kefu(work.path(), &["tenant", "create", "--name", "Acme", "--database-url", &required], ""));
    assert!(created.starts_with("created tenant t_"), "{created}");

    // The server's certificate checked against the CA it was made with.
    let verified = url(&format!("ssl-mode=verify_ca&ssl-ca={}", server.ca.display()));
    let tenants = stdout(&kefu(work.path(), &["tenant", "list", "--database-url", &verified], ""));
    assert!(tenants.contains("Acme"), "{tenants}");

    // Without TLS the server refuses the connection, and kefu says so in one line.
    let plain = kefu(work.path(), &["tenant", "list", "--database-url", &url("ssl-mode=disabled")], "");
    assert!(!plain.status.success(), "a plaintext connection was taken");
    let said = String::from_utf8_lossy(&plain.stderr);
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    assert!(said.contains("the server takes only encrypted connections (add ?ssl-mode=required"), "{said}");
}
