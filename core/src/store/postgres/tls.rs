//! TLS to the server as libpq's `sslmode` asks for it: `require` encrypts without checking
//! the server's certificate (unless a root certificate is given), `verify-ca` checks it
//! against trusted roots, `verify-full` checks the host name too. The PostgreSQL client
//! crate knows only `require`, so fleche reads these settings off the URL itself.

use std::path::PathBuf;

use postgres_native_tls::MakeTlsConnector;

/// What the URL (or `PGSSLMODE`) asks of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tls {
    pub(crate) mode: Mode,
    /// Certificates to trust besides the system's (`sslrootcert`, `PGSSLROOTCERT`, or
    /// `~/.postgresql/root.crt` when it exists), PEM.
    pub(crate) root: Option<PathBuf>,
}

/// `sslmode`, as fleche acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No TLS: no `sslmode`, or `disable`, `allow`, `prefer` (fleche never tries TLS on a
    /// server that was not asked for it).
    Off,
    /// Encrypted, the certificate not checked (`require` without a root certificate).
    Encrypt,
    /// Encrypted, the certificate checked against trusted roots (`verify-ca`, or `require`
    /// with a root certificate, as libpq does).
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host (`verify-full`).
    VerifyFull,
}

/// Takes `sslmode` and `sslrootcert` out of `url` (the client crate refuses `verify-ca`,
/// `verify-full` and `sslrootcert`): returns the rest of the URL and what they ask for.
/// Both URL (`postgres://..?sslmode=require`) and key-value (`host=.. sslmode=require`)
/// forms are read.
pub(crate) fn take_from(url: &str) -> Result<(String, Tls), String> {
    let mut mode = None;
    let mut root = None;
    let mut take = |key: &str, value: &str| -> bool {
        match key {
            "sslmode" => mode = Some(value.to_owned()),
            "sslrootcert" => root = Some(PathBuf::from(value)),
            _ => return false,
        }
        true
    };
    let rest = if url.contains("://") {
        match url.split_once('?') {
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|pair| {
                        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                        !take(key, &percent_decoded(value))
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            None => url.to_owned(),
        }
    } else {
        let kept: Vec<&str> = url
            .split_whitespace()
            .filter(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                !take(key.trim(), value.trim())
            })
            .collect();
        kept.join(" ")
    };
    let mode = mode.or_else(|| std::env::var("PGSSLMODE").ok());
    let root = root
        .or_else(|| std::env::var_os("PGSSLROOTCERT").map(PathBuf::from))
        .or_else(|| {
            dirs::home_dir()
                .map(|h| h.join(".postgresql").join("root.crt"))
                .filter(|p| p.exists())
        });
    let mode = match mode.as_deref() {
        None | Some("disable" | "allow" | "prefer") => Mode::Off,
        Some("require") if root.is_some() => Mode::VerifyCa,
        Some("require") => Mode::Encrypt,
        Some("verify-ca") => Mode::VerifyCa,
        Some("verify-full") => Mode::VerifyFull,
        Some(other) => {
            return Err(format!(
                "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            ));
        }
    };
    Ok((rest, Tls { mode, root }))
}

/// The TLS connector for these settings (unused when TLS is off). A root certificate that
/// cannot be read is an error now, not a failure on every connection.
pub(crate) fn connector(tls: &Tls) -> Result<MakeTlsConnector, String> {
    let mut builder = native_tls::TlsConnector::builder();
    match tls.mode {
        Mode::Off | Mode::VerifyFull => {}
        Mode::Encrypt => {
            builder.danger_accept_invalid_certs(true);
        }
        Mode::VerifyCa => {
            builder.danger_accept_invalid_hostnames(true);
        }
    }
    if let Some(path) = &tls.root
        && tls.mode != Mode::Off
    {
        let pem = std::fs::read(path).map_err(|e| {
            format!(
                "cannot read the root certificate {} (sslrootcert): {e}",
                path.display()
            )
        })?;
        let cert = native_tls::Certificate::from_pem(&pem).map_err(|e| {
            format!(
                "{} (sslrootcert) is not a PEM certificate: {e}",
                path.display()
            )
        })?;
        builder.add_root_certificate(cert);
    }
    let connector = builder
        .build()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    Ok(MakeTlsConnector::new(connector))
}

/// What to tell the user when a connection failed over TLS: a server without TLS, or a
/// certificate that was not accepted. `None` for other failures (the server is away).
pub(crate) fn refusal(e: &postgres::Error, tls: &Tls) -> Option<String> {
    // The client crate reports every TLS failure as "error performing TLS handshake", the
    // cause after it; a server without TLS is a cause with this text.
    let mut text = e.to_string();
    if !text.starts_with("error performing TLS handshake") {
        return None;
    }
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    if text.contains("server does not support TLS") {
        return Some(
            "the server does not accept TLS connections, and the URL asks for them (sslmode): \
             turn TLS on in the server (ssl = on in postgresql.conf, with a certificate), or \
             remove sslmode from the URL where the network is trusted"
                .to_owned(),
        );
    }
    let advice = match tls.mode {
        Mode::VerifyFull => {
            "give the certificate of the authority that signed it with sslrootcert=PATH, and make sure it names the host of the URL; or use sslmode=verify-ca (host name not checked) or sslmode=require (encrypted, not checked)"
        }
        _ => {
            "give the certificate of the authority that signed it with sslrootcert=PATH, or use sslmode=require (encrypted, not checked)"
        }
    };
    Some(format!(
        "the server's TLS certificate was not accepted ({text}): {advice}"
    ))
}

/// `value` with `%XX` escapes decoded (a path in a URL); anything else is kept as written.
fn percent_decoded(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url: &str) -> Mode {
        take_from(url).unwrap().1.mode
    }

    #[test]
    fn sslmode_is_read_as_libpq_reads_it() {
        assert_eq!(mode("postgres://me@db/cache"), Mode::Off);
        assert_eq!(mode("postgres://me@db/cache?sslmode=prefer"), Mode::Off);
        assert_eq!(mode("postgres://me@db/cache?sslmode=disable"), Mode::Off);
        assert_eq!(
            mode("postgres://me@db/cache?sslmode=verify-ca"),
            Mode::VerifyCa
        );
        assert_eq!(
            mode("postgres://me@db/cache?application_name=x&sslmode=verify-full"),
            Mode::VerifyFull
        );
        assert_eq!(
            mode("host=db user=me sslmode=verify-full"),
            Mode::VerifyFull
        );
        let Err(e) = take_from("postgres://me@db/cache?sslmode=sometimes") else {
            panic!("an unknown sslmode must be refused");
        };
        assert!(e.contains("verify-full"), "{e}");
    }

    #[test]
    fn the_tls_settings_leave_the_url_and_a_root_certificate_makes_require_check_it() {
        let (rest, tls) =
            take_from("postgres://me@db:5/cache?sslmode=require&sslrootcert=%2Ftmp%2Fca%20x.pem&connect_timeout=3")
                .unwrap();
        assert_eq!(rest, "postgres://me@db:5/cache?connect_timeout=3");
        assert_eq!(tls.root, Some(PathBuf::from("/tmp/ca x.pem")));
        assert_eq!(tls.mode, Mode::VerifyCa);
        let (rest, _) = take_from("postgres://me@db/cache?sslmode=require").unwrap();
        assert_eq!(rest, "postgres://me@db/cache");
        let (rest, _) = take_from("host=db sslmode=require user=me").unwrap();
        assert_eq!(rest, "host=db user=me");
    }

    #[test]
    fn a_root_certificate_that_cannot_be_read_is_an_error_that_names_it() {
        let tls = Tls {
            mode: Mode::VerifyFull,
            root: Some(PathBuf::from("/nonexistent/root.crt")),
        };
        let Err(e) = connector(&tls) else {
            panic!("a missing root certificate must be refused");
        };
        assert!(
            e.contains("/nonexistent/root.crt") && e.contains("sslrootcert"),
            "{e}"
        );
    }
}
