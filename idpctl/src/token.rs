//! Finding the admin token: `--token`, `--token-file`, `IDPCTL_TOKEN(_FILE)`, or the file a
//! local idpd writes.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::cli::DEFAULT_TOKEN_FILE;
use crate::error::Error;

/// Where the command line says the token comes from; read only when a request is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSpec {
    Value(String, TokenOrigin),
    /// A file, or `-` for standard input.
    File(PathBuf),
    /// `./idpd-data/admin-token` if it exists.
    Default,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOrigin {
    Flag,
    Env,
}

/// An admin token and a description of where it came from, for error hints.
pub struct Token {
    secret: String,
    origin: String,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("secret", &"<redacted>")
            .field("origin", &self.origin)
            .finish()
    }
}

impl Token {
    fn new(raw: &str, origin: String) -> Result<Self, Error> {
        // Files written by hand or by `echo` end with a newline; that is not part of the token.
        let secret = raw.trim();
        let problem = if secret.is_empty() {
            "is empty"
        } else if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            "contains spaces or characters that cannot be sent in an HTTP header"
        } else {
            return Ok(Token {
                secret: secret.to_owned(),
                origin,
            });
        };
        Err(Error::BadToken { origin, problem })
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// E.g. "given with --token" or "read from ./idpd-data/admin-token".
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

impl TokenSpec {
    pub fn resolve(&self) -> Result<Token, Error> {
        match self {
            TokenSpec::Value(secret, TokenOrigin::Flag) => {
                Token::new(secret, "given with --token".into())
            }
            TokenSpec::Value(secret, TokenOrigin::Env) => {
                Token::new(secret, "from IDPCTL_TOKEN".into())
            }
            TokenSpec::File(path) => read_file(path),
            TokenSpec::Default => {
                let path = Path::new(DEFAULT_TOKEN_FILE);
                match std::fs::read_to_string(path) {
                    Ok(text) => Token::new(&text, format!("read from {}", path.display())),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::NoToken),
                    Err(source) => Err(Error::TokenFile {
                        path: path.display().to_string(),
                        source,
                    }),
                }
            }
        }
    }
}

fn read_file(path: &Path) -> Result<Token, Error> {
    let read = if path == Path::new("-") {
        let mut text = String::new();
        io::stdin().read_to_string(&mut text).map(|_| text)
    } else {
        std::fs::read_to_string(path)
    };
    let shown = if path == Path::new("-") {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    };
    match read {
        Ok(text) => Token::new(&text, format!("read from {shown}")),
        Err(source) => Err(Error::TokenFile {
            path: shown,
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_contents_are_trimmed() {
        let dir = std::env::temp_dir().join(format!("idpctl-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("admin-token");
        std::fs::write(&file, "  s3cret\n").unwrap();
        let token = TokenSpec::File(file.clone()).resolve().unwrap();
        assert_eq!(token.secret(), "s3cret");
        assert!(token.origin().contains("admin-token"));
        std::fs::write(&file, "\n").unwrap();
        let err = TokenSpec::File(file).resolve().unwrap_err();
        assert!(err.to_string().ends_with("is empty"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_explicit_file_names_the_path() {
        let err = TokenSpec::File("/nonexistent/idpctl-token".into())
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/idpctl-token"));
    }

    #[test]
    fn tokens_that_cannot_be_a_header_are_refused() {
        let err = TokenSpec::Value("a b".into(), TokenOrigin::Flag)
            .resolve()
            .unwrap_err();
        assert!(err.to_string().contains("--token"), "{err}");
    }

    #[test]
    fn debug_hides_the_secret() {
        let token = Token::new("s3cret", "x".into()).unwrap();
        assert!(!format!("{token:?}").contains("s3cret"));
    }
}
